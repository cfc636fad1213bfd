"""The Shot: a camera track plus per-frame plate, depth and mask sequences of one resolution.

Jobs read frames through :class:`Shot` so every input check (missing frame, resolution
mismatch, unusable depth) happens in one place and names the file at fault, and so frames are
streamed through a small cache instead of held for the whole shot.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..errors import ResolutionMismatchError, UsageError
from .frames import FrameSeq

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .lens import Lens

    from .camera import CameraTrack, CameraView

log = logging.getLogger("genpost")



@dataclass
class Shot:
    """A camera track and the image sequences that belong to it.

    ``frames`` is the shot range the job plans over (keyframes, depth range); a chunk renders a
    subset of it. Resolution comes from the first depth frame; every other image must agree.

    With a ``lens`` (:class:`~genpost_houdini.shot.lens.Lens`), plate, mask, matte and
    holdout are filmed images in *plate space* (the redistort map's size) and are read
    undistorted into the depth's (CG) space; ``read_plate_space`` gives them as filmed.
    """

    camera: "CameraTrack"
    depth: FrameSeq
    frames: list[int]
    plate: FrameSeq | None = None
    mask: FrameSeq | None = None
    mask_threshold: float = 0.5
    holdout: FrameSeq | None = None
    lens: "Lens | None" = None
    cache_size: int = 12
    #: How the depth files store depth: "planar" (camera-space Z) or "ray" (distance from the
    #: camera centre, converted to planar Z with each frame's K when read; shot.rays).
    depth_kind: str = "planar"
    _resolution: tuple[int, int] | None = field(default=None, init=False, repr=False)
    _cache: "OrderedDict[tuple[str, int], object]" = field(default_factory=OrderedDict, init=False, repr=False)
    _depth_kind_checked: bool = field(default=False, init=False, repr=False)

    @classmethod
    def open(
        cls,
        stage: str | os.PathLike[str],
        *,
        camera: str | None,
        depth: str,
        frames: Sequence[int],
        plate: str | None = None,
        mask: str | None = None,
        holdout: str | None = None,
        undistort: str | None = None,
        redistort: str | None = None,
        base: str | os.PathLike[str] | None = None,
        depth_kind: str = "planar",
    ) -> "Shot":
        """Open the stage's camera and the sequences; refuse missing frames up front.

        ``undistort``/``redistort``: the lens's ST maps (a file or a frame pattern each; both or
        neither)."""
        from .camera import CameraTrack
        from .rays import DEPTH_KINDS

        if not frames:
            raise UsageError("empty frame range")
        if bool(undistort) != bool(redistort):
            raise UsageError("lens distortion needs both --undistort and --redistort ST maps")
        lens = None
        if undistort and redistort:
            from .lens import Lens

            resolve = lambda p: os.path.join(os.fspath(base), p) if base is not None and not os.path.isabs(p) else p  # noqa: E731
            lens = Lens(resolve(os.fspath(undistort)), resolve(os.fspath(redistort)))
        if depth_kind not in DEPTH_KINDS:
            raise UsageError(f"depth kind must be one of {', '.join(DEPTH_KINDS)}, got {depth_kind!r}")
        track = CameraTrack.open(Path(stage), camera)
        shot = cls(
            camera=track,
            depth=FrameSeq.parse(depth, base),
            frames=sorted(set(frames)),
            plate=FrameSeq.parse(plate, base) if plate else None,
            mask=FrameSeq.parse(mask, base) if mask else None,
            holdout=FrameSeq.parse(holdout, base) if holdout else None,
            lens=lens,
            depth_kind=depth_kind,
        )
        track.check_frames(shot.frames)
        shot.check_frames(shot.frames)
        shot.check_plate_channels(shot.frames)
        return shot

    # -- checks -----------------------------------------------------------------------------
    def sequences(self) -> dict[str, FrameSeq]:
        seqs = {"depth": self.depth}
        if self.plate is not None:
            seqs["plate"] = self.plate
        if self.mask is not None:
            seqs["mask"] = self.mask
        if self.holdout is not None:
            seqs["holdout"] = self.holdout
        return seqs

    def check_frames(self, frames: Sequence[int]) -> None:
        """Raise MissingFrameError naming every sequence and frame that is not on disk."""
        for what, seq in self.sequences().items():
            seq.require(frames, what)

    def check_plate_channels(self, frames: Sequence[int]) -> None:
        """Refuse (BadInputError naming the file and its channels) a plate frame without R, G
        and B, from the headers alone: a job opens its shot before it writes anything."""
        if self.plate is None:
            return
        from ..imageio import exr

        for frame in frames:
            exr.require_rgb(self.plate.path(frame))

    @property
    def resolution(self) -> tuple[int, int]:
        """(width, height) of the shot, from its first depth frame."""
        if self._resolution is None:
            depth = self.read("depth", self.frames[0])
            self._resolution = (int(depth.shape[1]), int(depth.shape[0]))
        return self._resolution

    def input_files(self, frame: int) -> list[Path]:
        files = [seq.path(frame) for seq in self.sequences().values()]
        return files + (self.lens.files(frame) if self.lens is not None else [])

    @property
    def plate_resolution(self) -> tuple[int, int]:
        """(width, height) of the filmed images: the redistort map's size with a lens, else the
        shot's resolution."""
        if self.lens is None:
            return self.resolution
        red = self.lens.redistort(self.frames[0])
        return (int(red.shape[1]), int(red.shape[0]))

    # -- reading ----------------------------------------------------------------------------
    def read(self, kind: str, frame: int) -> "np.ndarray":
        """Read one image of one frame (cached), in the depth's (CG) space: ``plate`` (H,W,3),
        ``depth`` (H,W; no hit = inf), ``mask`` (H,W bool, matte >= mask_threshold), ``matte``
        (H,W float in [0, 1], the soft extend matte), ``holdout`` (H,W float); with a lens the
        filmed images come undistorted, 0 where the plate does not reach."""
        key = (kind, frame)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]  # type: ignore[return-value]
        if kind == "mask":
            value = self.read("matte", frame) >= self.mask_threshold
        elif self.lens is not None and kind in ("plate", "matte", "holdout"):
            import numpy as np

            from .lens import COLOUR_FILTER, MASK_FILTER, warp_stmap

            raw = self.read_plate_space(kind, frame)
            value, _ = warp_stmap(raw, self.lens.undistort(frame), filtername=COLOUR_FILTER if kind == "plate" else MASK_FILTER)
            value = value if kind == "plate" else np.clip(value[..., 0], 0.0, 1.0)
        else:
            value = self._load(kind, frame)
        self._remember(key, value)
        return value

    def read_plate_space(self, kind: str, frame: int) -> "np.ndarray":
        """``plate``, ``matte`` or ``holdout`` as filmed (plate space; the same as :meth:`read`
        without a lens)."""
        if self.lens is None:
            return self.read(kind, frame)
        key = (kind + "@plate", frame)
        if key not in self._cache:
            self._remember(key, self._load(kind, frame))
        return self._cache[key]  # type: ignore[return-value]

    def covered(self, frame: int) -> "np.ndarray":
        """(H, W) bool in CG space: pixels the plate reaches (all of them without a lens)."""
        import numpy as np

        key = ("covered", frame)
        if key not in self._cache:
            if self.lens is None:
                value = np.ones(self.resolution[::-1], bool)
            else:
                from .lens import st_to_pixels

                w, h = self.plate_resolution
                x, y = st_to_pixels(self.lens.undistort(frame), w, h)
                value = (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)
            self._remember(key, value)
        return self._cache[key]  # type: ignore[return-value]

    def _remember(self, key: tuple[str, int], value: object) -> None:
        self._cache[key] = value
        while len(self._cache) > self.cache_size * 3:
            self._cache.popitem(last=False)

    def _load(self, kind: str, frame: int) -> "np.ndarray":
        from ..imageio import exr

        seq = self.sequences().get("mask" if kind == "matte" else kind)
        if seq is None:
            raise UsageError(f"this shot has no {kind} sequence")
        path = seq.path(frame)
        if kind == "depth":
            value = self._planar_depth(exr.read_depth(path), frame, path)
        elif kind == "plate":
            value = exr.read_rgb(path)
        else:
            value = exr.read_mask(path)
        got = (int(value.shape[1]), int(value.shape[0]))
        if self._resolution is None and kind == "depth":
            self._resolution = got
        expected = self.resolution if kind == "depth" or self.lens is None else self.plate_resolution
        if got != expected:
            what = "depth" if self.lens is None or kind == "depth" else "redistort ST map"
            source = self.depth.path(self.frames[0]) if what == "depth" else self.lens.files(frame)[1]  # type: ignore[union-attr]
            raise ResolutionMismatchError(
                f"{path} is {got[0]}x{got[1]} but the shot's {what} ({source}) is {expected[0]}x{expected[1]}"
            )
        return value

    def _planar_depth(self, depth: "np.ndarray", frame: int, path: Path) -> "np.ndarray":
        """``depth`` as planar Z (converted when the shot's depth is ray distance); the first
        depth frame read is checked against the declared kind (a warning, never an error)."""
        from .rays import check_depth_kind, to_planar

        height, width = depth.shape
        K = self.camera.intrinsics(frame, width, height)
        if not self._depth_kind_checked:
            self._depth_kind_checked = True
            check_depth_kind(depth, K, self.depth_kind, str(path))
        return to_planar(depth, K, self.depth_kind)

    def view(self, frame: int) -> "CameraView":
        width, height = self.resolution
        return self.camera.view(frame, width, height)
