"""Crowd sources: RGBA element sequences (cut from the plate with a matte, or generated), each
with a consent record.

Replicating filmed extras multiplies real people's likeness, so a source must carry a consent
record: a sidecar JSON beside the sequence (``<name>.consent.json`` for ``<name>.####.exr``, or
``consent.json`` in the same folder) with ``who``, ``permitted_use``, ``expires`` (ISO date) and
``reference``. A job refuses a source without one unless the user says ``--no-consent-record``,
which is then written into every output.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import BadInputError, ConsentError
from ..shot.frames import FrameSeq, format_frames

CONSENT_FIELDS = ("who", "permitted_use", "expires", "reference")


@dataclass(frozen=True)
class ConsentRecord:
    who: str
    permitted_use: str
    expires: str
    reference: str
    path: str = ""

    @classmethod
    def load(cls, path: Path, *, today: _dt.date | None = None) -> "ConsentRecord":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConsentError(f"consent record {path} is unreadable: {exc}") from exc
        if not isinstance(data, dict):
            raise ConsentError(f"consent record {path} must be a JSON object")
        missing = [k for k in CONSENT_FIELDS if not str(data.get(k, "")).strip()]
        if missing:
            raise ConsentError(f"consent record {path} lacks {', '.join(missing)}")
        try:
            expires = _dt.date.fromisoformat(str(data["expires"]))
        except ValueError as exc:
            raise ConsentError(f"consent record {path}: expires {data['expires']!r} is not an ISO date") from exc
        if expires < (today or _dt.date.today()):
            raise ConsentError(f"consent record {path} expired on {expires} (reference {data['reference']})")
        return cls(str(data["who"]), str(data["permitted_use"]), str(data["expires"]), str(data["reference"]), str(path))

    def to_json(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in CONSENT_FIELDS} | {"path": self.path}


def consent_path_for(pattern: FrameSeq) -> list[Path]:
    """Where a source's consent record may be: ``<name>.consent.json``, then ``consent.json``."""
    prefix = Path(pattern.prefix)
    stem = prefix.name.rstrip("._-") or "source"
    return [prefix.parent / f"{stem}.consent.json", prefix.parent / "consent.json"]


def write_consent_record(pattern: str | FrameSeq, *, who: str, permitted_use: str, expires: str, reference: str,
                         extra: dict[str, Any] | None = None) -> Path:
    """Write the sidecar consent record for a source pattern (atomic); ``extra`` keys (e.g.
    ``synthetic``) are written beside the four required ones."""
    from ..atomic import write_json_atomic

    seq = pattern if isinstance(pattern, FrameSeq) else FrameSeq.parse(pattern)
    path = consent_path_for(seq)[0]
    record = {"who": who, "permitted_use": permitted_use, "expires": expires, "reference": reference}
    write_json_atomic(path, {**(extra or {}), **record})
    return path


#: Sidecar describing a library element's clips: ``<name>.element.json`` beside the sequence.
ELEMENT_SUFFIX = ".element.json"
#: Channel of an element EXR saying where clothing may be recoloured (premultiplied coverage).
VARIATION_CHANNEL = "variation"
#: Optional: the part of the variation matte below the waist, recoloured with its own matrix.
VARIATION_LOWER_CHANNEL = "variation_lower"


@dataclass(frozen=True)
class Clip:
    """A run of an element's frames: one action (``walk``, ``idle``, or ``loop`` for a plain
    sequence) seen from one view angle (degrees from the person's facing towards their left,
    0 = facing the camera)."""

    kind: str
    view: int
    start: int  # index of the clip's first frame in the source's sprites
    length: int
    fps: float
    speed: float = 0.0  # walk: metres per second at the element's own height (feet locked)
    feet: tuple[tuple[float, float, float, float, float, float], ...] = ()  # per frame: l x,z,planted, r x,z,planted

    def frame(self, k: int) -> int:
        """Sprite index of the clip's ``k``-th frame (looping)."""
        return self.start + int(k) % self.length


@dataclass
class ElementInfo:
    """How a source's sprites map to the world: the ground point under the body axis
    (``anchor``, sprite pixels, pixel centres at integers), the person's height in sprite pixels,
    their height in metres when known, and the clips."""

    anchor: tuple[float, float]
    person_px: float
    height_m: float | None
    clips: list[Clip]
    synthetic: bool = False

    def views(self, kind: str) -> dict[int, Clip]:
        return {c.view: c for c in self.clips if c.kind == kind}

    @property
    def can_walk(self) -> bool:
        return any(c.kind == "walk" and c.speed > 0 for c in self.clips)

    def clip_for(self, kind: str, view_deg: float) -> tuple[Clip, bool]:
        """The clip of ``kind`` nearest to ``view_deg`` (-180..180), and whether to mirror it
        (negative angles are the mirror images of positive ones)."""
        views = self.views(kind) or self.views("idle") or self.views("loop")
        if not views:
            views = {c.view: c for c in self.clips}
        a = abs(((view_deg + 180.0) % 360.0) - 180.0)
        best = min(views, key=lambda v: abs(v - a))
        mirror = ((view_deg + 180.0) % 360.0) - 180.0 < 0 and best not in (0, 180)
        return views[best], mirror


@dataclass
class CrowdSource:
    """One element sequence, cropped to the union of its alpha, premultiplied RGBA (float16 in
    memory), an optional ``variation`` matte, and how its frames are organised."""

    index: int
    pattern: str
    frames: list[int]
    sprites: np.ndarray  # (F, h, w, 4) premultiplied
    consent: ConsentRecord | None
    matte: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    variation: np.ndarray | None = None  # (F, h, w, 2) premultiplied clothing coverage: all, lower part
    element: ElementInfo | None = None
    pixels: np.ndarray | None = field(default=None, repr=False)  # (F, h, w, 6): sprites and variation together
    _covers: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.element is None:
            h, w = self.sprites.shape[1:3]
            self.element = ElementInfo(anchor=((w - 1) / 2.0, h - 0.5), person_px=float(h), height_m=None,
                                       clips=[Clip("loop", 0, 0, len(self.sprites), 24.0)])

    @property
    def aspect(self) -> float:
        """Width / height of the element."""
        return self.sprites.shape[2] / self.sprites.shape[1]

    def sprite(self, frame_index: int) -> np.ndarray:
        return self.sprites[frame_index % len(self.sprites)]

    def cover(self, i: int) -> np.ndarray:
        """(h, w) bool: sprite ``i``'s pixels within one pixel of any with alpha > 0 (a bilinear
        lookup whose nearest pixel lies outside is exactly zero). Kept once computed."""
        got = self._covers.get(i)
        if got is None:
            a = np.asarray(self.sprites[i][..., 3]) > 0
            d = a.copy()
            d[1:] |= a[:-1]
            d[:-1] |= a[1:]
            e = d.copy()
            e[:, 1:] |= d[:, :-1]
            e[:, :-1] |= d[:, 1:]
            got = self._covers[i] = e
        return got

    def frame_pixels(self, i: int) -> np.ndarray:
        """Sprite ``i`` as one (h, w, 4 or 6) array: premultiplied RGBA, then the variation matte
        (all, lower) when there is one; a view (no copy, the stored dtype) when the source keeps
        them together, as :func:`load_source` does."""
        if self.variation is None:
            return self.sprites[i]
        if self.pixels is not None and np.may_share_memory(self.pixels, self.sprites) and \
                np.may_share_memory(self.pixels, self.variation):
            return self.pixels[i]
        return np.concatenate([np.asarray(self.sprites[i], np.float32), np.asarray(self.variation[i], np.float32)], axis=-1)

    def provenance(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "variant_of": self.info.get("variant_of"),
            "generated_by": self.info.get("model"),
            "pattern": self.pattern,
            "matte": self.matte,
            "frames": format_frames(self.frames),
            "clips": sorted({c.kind for c in self.element.clips}) if self.element else [],
            "consent_reference": self.consent.reference if self.consent else "NO CONSENT RECORD (--no-consent-record)",
            "consent": self.consent.to_json() if self.consent else None,
        }


def element_path_for(pattern: FrameSeq) -> Path:
    """``<name>.element.json`` beside ``<name>.####.exr``."""
    prefix = Path(pattern.prefix)
    return prefix.parent / f"{prefix.name.rstrip('._-') or 'source'}{ELEMENT_SUFFIX}"


def _read_element(path: Path, frames: Sequence[int]) -> dict[str, Any] | None:
    """The element sidecar, checked against the frames on disk (BadInputError names it)."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        clips = data["clips"]
        anchor = [float(v) for v in data["anchor"]]
        float(data["person_px"])
        first, last = min(frames), max(frames)
        for c in clips:
            a, b = int(c["frames"][0]), int(c["frames"][1])
            if a < first or b > last or b < a:
                raise ValueError(f"clip {c.get('kind')} frames {a}-{b} outside {first}-{last}")
        if len(anchor) != 2:
            raise ValueError("anchor must be [x, y]")
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise BadInputError(f"crowd element description {path} is unusable: {exc}") from exc
    return data


def load_source(
    index: int,
    pattern: str,
    *,
    matte: str | None = None,
    frames: Sequence[int] | None = None,
    require_consent: bool = True,
    max_height: int = 512,
) -> CrowdSource:
    """Read a source sequence (RGBA, or RGB + matte), premultiply, crop to the alpha's union.

    A ``<name>.element.json`` sidecar (written by ``genpost samples crowd``) describes clips
    (walk / idle per view angle, walking speed, feet) and the ground anchor; a ``variation``
    channel marks recolourable clothing. Without them the whole sequence is one looping clip
    standing on its bottom edge, and nothing is recoloured. A source decoded before from the
    same file bytes comes from the user cache (``sources/``, :mod:`genpost_houdini.usercache`).
    """
    seq = FrameSeq.parse(pattern)
    matte_seq = FrameSeq.parse(matte) if matte else None
    if frames is None:
        frames = seq.frames_on_disk()
        if not frames:
            raise BadInputError(f"crowd source {pattern}: no frames on disk")
    frames = list(frames)
    seq.require(frames, "crowd source")
    if matte_seq is not None:
        matte_seq.require(frames, "crowd source matte")

    consent = None
    if require_consent:
        for candidate in consent_path_for(matte_seq or seq) + consent_path_for(seq):
            if candidate.is_file():
                consent = ConsentRecord.load(candidate)
                break
        if consent is None:
            where = consent_path_for(seq)[0]
            raise ConsentError(
                f"crowd source {pattern} has no consent record (expected {where}): replicating filmed "
                "people needs their written consent; pass --no-consent-record to proceed anyway, "
                "which is written into every output"
            )
    element = _read_element(element_path_for(seq), frames) if matte_seq is None else None
    files = [seq.path(f) for f in frames] + ([matte_seq.path(f) for f in frames] if matte_seq else [])
    key = _pack_key(files, max_height)
    packed = _read_pack(key)
    if packed is not None:
        pixels, crop, step, size = packed
    else:
        pixels, crop, step, size = _decode(seq, matte_seq, frames, pattern, max_height)
        _write_pack(key, pixels, crop, step, size)
    sprites = pixels[..., :4]
    var = pixels[..., 4:6] if pixels.shape[-1] == 6 else None
    info = _element_info(element, frames, (crop[0], crop[1]), step, sprites.shape[1:3]) if element else None
    return CrowdSource(
        index=index,
        pattern=str(pattern),
        frames=frames,
        sprites=sprites,
        consent=consent,
        matte=str(matte or ""),
        info={"crop": [int(v) for v in crop], "size": [int(v) for v in size], "person": (element or {}).get("person")},
        variation=var,
        element=info,
        pixels=pixels,
    )


#: Bumped whenever what :func:`_decode` keeps of a source changes (invalidates the packs).
PACK_VERSION = 2
#: Decoded sources kept in the user cache (``sources/``): at most this many, newest kept.
PACK_ENTRIES = 24
#: Sources bigger than this (decoded) are not kept.
PACK_MAX_BYTES = 1 << 30


def _pack_key(files: Sequence[Path], max_height: int) -> str:
    """A digest of the files' bytes (not their paths or times: a copied library hits too)."""
    import hashlib

    h = hashlib.sha256(f"genpost-source-pack-{PACK_VERSION}-{max_height}".encode())
    for path in files:
        with open(path, "rb") as fh:
            h.update(fh.read())
        h.update(b"\0")
    return h.hexdigest()[:32]


def _pack_path(key: str) -> Path | None:
    from ..usercache import user_cache_root

    root = user_cache_root()
    return None if root is None else root / "sources" / key


def _read_pack(key: str) -> tuple[np.ndarray, tuple[int, int, int, int], int, tuple[int, int]] | None:
    """A source decoded before from the same bytes (memory-mapped, read-only), or None (any
    problem: decode again)."""
    path = _pack_path(key)
    if path is None or not (path / "meta.json").is_file():
        return None
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        pixels = np.asarray(np.load(path / "pixels.npy", mmap_mode="r", allow_pickle=False))  # a plain read-only view
        crop, step, size = [int(v) for v in meta["crop"]], int(meta["step"]), [int(v) for v in meta["size"]]
        os.utime(path)  # recently used: kept longest
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pixels, (crop[0], crop[1], crop[2], crop[3]), step, (size[0], size[1])


def _write_pack(key: str, pixels: np.ndarray, crop: tuple[int, int, int, int], step: int, size: tuple[int, int]) -> None:
    """Keep a decoded source in the user cache (a folder published atomically; best effort),
    pruning the least recently used beyond :data:`PACK_ENTRIES`."""
    import shutil
    import tempfile

    path = _pack_path(key)
    if path is None or path.exists() or pixels.nbytes > PACK_MAX_BYTES:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=path.parent))
        np.save(tmp / "pixels.npy", pixels, allow_pickle=False)
        (tmp / "meta.json").write_text(json.dumps({"crop": list(crop), "step": step, "size": list(size)}), encoding="utf-8")
        try:
            os.replace(tmp, path)
        except OSError:  # another process published it first
            shutil.rmtree(tmp, ignore_errors=True)
        packs = sorted((p for p in path.parent.iterdir() if p.is_dir() and not p.name.startswith(".")),
                       key=lambda p: p.stat().st_mtime, reverse=True)
        for old in packs[PACK_ENTRIES:]:
            shutil.rmtree(old, ignore_errors=True)
    except OSError:
        pass  # an unwritable cache only costs time


def _decode(seq: FrameSeq, matte_seq: FrameSeq | None, frames: Sequence[int], pattern: str, max_height: int
            ) -> tuple[np.ndarray, tuple[int, int, int, int], int, tuple[int, int]]:
    """Read the frames (RGBA, or RGB + matte), premultiply, crop to the alpha's union,
    downsample past ``max_height``: (pixels (F, h, w, 4 or 6: RGBA and the variation matte),
    crop x0 y0 x1 y1, step, full size w h)."""
    from ..imageio import exr

    rgba = None
    variation = None
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="genpost-source")
    # Decoding releases the GIL: read ahead on a second thread, holding at most a few frames.
    ahead = {k: pool.submit(exr.read_exr, seq.path(frames[k])) for k in range(min(4, len(frames)))}
    try:
        for i, f in enumerate(frames):
            path = seq.path(f)
            img = ahead.pop(i).result()
            if i + 4 < len(frames):
                ahead[i + 4] = pool.submit(exr.read_exr, seq.path(frames[i + 4]))
            if not all(c in img.channels for c in ("R", "G", "B")):
                raise BadInputError(f"crowd source {path} has no R, G, B channels (has {', '.join(img.channels)})")
            rgb = img.get(["R", "G", "B"])
            if matte_seq is not None:
                alpha = exr.read_mask(matte_seq.path(f))
                if alpha.shape != rgb.shape[:2]:
                    raise BadInputError(f"crowd source matte for frame {f} does not match {path} in resolution")
                premult = rgb * alpha[..., None]
            elif "A" in img.channels:
                alpha = np.clip(img.channel("A"), 0.0, 1.0)
                premult = rgb  # EXR RGBA is premultiplied by convention
            else:
                raise BadInputError(f"crowd source {path} has no alpha channel A and no --source-matte was given")
            if rgba is None:
                rgba = np.empty((len(frames),) + alpha.shape + (4,), np.float16)
            elif rgba.shape[1:3] != alpha.shape:
                raise BadInputError(f"crowd source {path} is {alpha.shape[1]}x{alpha.shape[0]}, unlike its first frame")
            rgba[i, ..., :3] = premult
            rgba[i, ..., 3] = alpha
            if VARIATION_CHANNEL in img.channels and matte_seq is None:
                if variation is None:
                    variation = np.zeros(rgba.shape[:3] + (2,), np.float16)
                v = np.minimum(np.clip(img.channel(VARIATION_CHANNEL), 0.0, 1.0), alpha)
                variation[i, ..., 0] = v
                if VARIATION_LOWER_CHANNEL in img.channels:
                    variation[i, ..., 1] = np.minimum(np.clip(img.channel(VARIATION_LOWER_CHANNEL), 0.0, 1.0), v)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    assert rgba is not None
    cover = rgba[..., 3].max(axis=0) > 1e-3
    if not cover.any():
        raise BadInputError(f"crowd source {pattern}: alpha is empty in every frame")
    ys, xs = np.nonzero(cover)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    full_h, full_w = rgba.shape[1:3]
    sprites = rgba[:, y0:y1, x0:x1]
    var = variation[:, y0:y1, x0:x1] if variation is not None else None
    step = 1
    if sprites.shape[1] > max_height:  # keep memory small: people are never that tall on screen twice
        step = int(np.ceil(sprites.shape[1] / max_height))
        sprites = sprites[:, ::step, ::step]
        var = var[:, ::step, ::step] if var is not None else None
    pixels = np.ascontiguousarray(np.concatenate([sprites, var], axis=-1) if var is not None else sprites)
    return pixels, (int(x0), int(y0), int(x1), int(y1)), step, (int(full_w), int(full_h))


def _feet_row(row: Sequence[float]) -> tuple[float, float, float, float, float, float]:
    lx, lz, lp, rx, rz, rp = (float(v) for v in row)
    return (lx, lz, lp, rx, rz, rp)


def _element_info(data: dict[str, Any], frames: Sequence[int], crop: tuple[int, int], step: int,
                  shape: tuple[int, int]) -> ElementInfo:
    """The sidecar's clips and anchor, re-expressed for the cropped, downsampled sprites."""
    index = {f: i for i, f in enumerate(frames)}
    clips = []
    for c in data["clips"]:
        a, b = int(c["frames"][0]), int(c["frames"][1])
        clips.append(Clip(
            kind=str(c["kind"]), view=int(c.get("view", 0)), start=index[a], length=b - a + 1,
            fps=float(c.get("fps", 24.0)), speed=float(c.get("speed", 0.0)),
            feet=tuple(_feet_row(row) for row in c.get("feet", [])),
        ))
    ax, ay = (float(v) for v in data["anchor"])
    return ElementInfo(
        anchor=((ax - crop[0] + 0.5) / step - 0.5, (ay - crop[1] + 0.5) / step - 0.5),
        person_px=float(data["person_px"]) / step,
        height_m=float(data["height_m"]) if data.get("height_m") else None,
        clips=clips,
        synthetic=bool(data.get("synthetic", False)),
    )
