"""Lens distortion through ST maps (Nuke's STMap convention).

An ST map is an image whose R and G channels give, for each output pixel, where to sample the
input image: ``R = s = (x + 0.5) / W_in`` and ``G = t = 1 - (y + 0.5) / H_in`` (t measured from
the bottom; pixel centres at integers, row 0 on top). Two maps describe a lens:

- the *undistort* map has the size of the CG renders (possibly overscan) and gives, for each
  undistorted pixel, where to sample the (distorted) plate;
- the *redistort* map has the plate's size and gives, for each plate pixel, where to sample the
  undistorted image.

Depth and camera live in undistorted space; plates and mattes are distorted. Warping uses
OpenImageIO's ``st_warp`` (``flip_t=True`` for the bottom-up t). Samples outside the input are
invalid (``valid`` False, value 0).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BadInputError

#: Filter for colour warps (a smooth cubic keeps texture sharper than bilinear).
COLOUR_FILTER = "catmull-rom"
#: Filter for mattes and masks (bilinear: no overshoot outside [0, 1]).
MASK_FILTER = "triangle"
#: Edge replication around an input before warping (pixels; covers the filters' support).
_EDGE_PAD = 4


def _as_planes(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image, dtype=np.float32)
    return arr[..., None] if arr.ndim == 2 else arr


def st_to_pixels(st: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates ``(x, y)`` in an input of ``width`` x ``height`` from an (H, W, >=2) ST map."""
    s, t = st[..., 0].astype(np.float64), st[..., 1].astype(np.float64)
    return s * width - 0.5, (1.0 - t) * height - 0.5


def pixels_to_st(x: np.ndarray, y: np.ndarray, width: int, height: int) -> np.ndarray:
    """An (H, W, 2) float32 ST map from input pixel coordinates ``x``, ``y``."""
    return np.stack([(x + 0.5) / width, 1.0 - (y + 0.5) / height], axis=-1).astype(np.float32)


def warp_stmap(image: np.ndarray, st: np.ndarray, *, filtername: str = COLOUR_FILTER) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (H_in, W_in[, C]) sampled through ``st`` (H_out, W_out, >=2).

    Returns ``(warped (H_out, W_out, C) float32, valid (H_out, W_out) bool)``: valid where the
    sample point lies inside the input (pixel centres span ``[-0.5, W_in - 0.5]``); invalid
    pixels are 0. Non-finite ST values are invalid.
    """
    import OpenImageIO as oiio

    src = _as_planes(image)
    h_in, w_in, c = src.shape
    stv = np.asarray(st, dtype=np.float32)
    if stv.ndim != 3 or stv.shape[2] < 2:
        raise ValueError(f"ST map must be (H, W, >=2), got shape {stv.shape}")
    x, y = st_to_pixels(stv, w_in, h_in)
    finite = np.isfinite(x) & np.isfinite(y)
    valid = finite & (x >= -0.5) & (x <= w_in - 0.5) & (y >= -0.5) & (y <= h_in - 0.5)
    # OIIO filters against black outside the image: pad by edge replication and address the
    # padded image, so pixels at the frame edge are not darkened.
    pad = _EDGE_PAD
    padded = np.pad(src, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    st2 = pixels_to_st(np.where(finite, x, -10.0 * pad) + pad, np.where(finite, y, -10.0 * pad) + pad,
                       w_in + 2 * pad, h_in + 2 * pad)
    sbuf = oiio.ImageBuf(oiio.ImageSpec(w_in + 2 * pad, h_in + 2 * pad, c, oiio.FLOAT))
    sbuf.set_pixels(oiio.ROI(), np.ascontiguousarray(padded))
    mbuf = oiio.ImageBuf(oiio.ImageSpec(st2.shape[1], st2.shape[0], 2, oiio.FLOAT))
    mbuf.set_pixels(oiio.ROI(), st2)
    out = oiio.ImageBufAlgo.st_warp(sbuf, mbuf, filtername=filtername, flip_t=True,
                                    roi=oiio.ROI(0, st2.shape[1], 0, st2.shape[0], 0, 1, 0, c))
    if out.has_error:  # pragma: no cover - OIIO reports bad arguments here
        raise BadInputError(f"ST-map warp failed: {out.geterror()}")
    warped = np.asarray(out.get_pixels(oiio.FLOAT), dtype=np.float32).reshape(st2.shape[0], st2.shape[1], c)
    warped[~valid] = 0.0
    return warped, valid


def redistort(channels: dict[str, np.ndarray], st: np.ndarray, *, cubic: tuple[str, ...] = (),
              nearest: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Named (H, W) channels of the undistorted (CG) image through a redistort ST map into plate
    space: ``cubic`` ones with COLOUR_FILTER, ``nearest`` ones (codes, ids, depth) by the
    nearest pixel, the rest bilinear (mattes, alpha, premultiplied colour keeps its alpha)."""
    names = list(channels)
    h, w = next(iter(channels.values())).shape
    out: dict[str, np.ndarray] = {}
    groups = {"cubic": [n for n in names if n in cubic], "linear": [n for n in names if n not in cubic and n not in nearest]}
    for kind, group in groups.items():
        if group:
            warped, _ = warp_stmap(np.stack([channels[n] for n in group], axis=-1), st,
                                   filtername=COLOUR_FILTER if kind == "cubic" else MASK_FILTER)
            out.update({n: np.ascontiguousarray(warped[..., i]) for i, n in enumerate(group)})
    picked = [n for n in names if n in nearest]
    if picked:
        x, y = st_to_pixels(st, w, h)
        xi = np.clip(np.rint(np.nan_to_num(x)), 0, w - 1).astype(np.intp)
        yi = np.clip(np.rint(np.nan_to_num(y)), 0, h - 1).astype(np.intp)
        out.update({n: np.ascontiguousarray(channels[n][yi, xi]) for n in picked})
    return {n: out[n] for n in names}


def read_stmap(path: str | os.PathLike[str]) -> np.ndarray:
    """An (H, W, 2) float32 ST map from an EXR's R and G channels (or its first two channels)."""
    from ..imageio import exr

    img = exr.read_exr(path)
    names = [c for c in ("R", "G") if c in img.channels]
    if len(names) == 2:
        st = img.get(names)
    elif len(img.channels) >= 2:
        st = img.pixels[..., :2]
    else:
        raise BadInputError(f"{path}: an ST map needs R and G channels (s, t); channels: {', '.join(img.channels)}")
    st = np.asarray(st, dtype=np.float32)
    if not np.isfinite(st).any():
        raise BadInputError(f"{path}: the ST map holds no finite value")
    return st


def write_stmap(path: str | os.PathLike[str], st: np.ndarray, *, metadata: dict | None = None) -> Path:
    """Write an ST map as float32 R, G (B = 0) in Nuke's convention."""
    from ..imageio import exr

    zero = np.zeros(st.shape[:2], np.float32)
    return exr.write_exr(
        path, {"R": st[..., 0], "G": st[..., 1], "B": zero},
        kinds={"R": "data", "G": "data", "B": "data"}, metadata=metadata, colourspace=None,
    )


@dataclass
class Lens:
    """A shot's lens: undistort and redistort ST maps, each one file or a frame pattern.

    ``undistort(frame)`` is (H_cg, W_cg, 2) and ``redistort(frame)`` is (H_plate, W_plate, 2);
    both are read once per file and cached.
    """

    undistort_pattern: str
    redistort_pattern: str
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def _path(self, pattern: str, frame: int) -> Path:
        """The map of ``frame``: the file itself, or the pattern's file (####, %04d, $F4, <F>)."""
        from .frames import FrameSeq, has_frame_token

        if not has_frame_token(pattern):
            return Path(pattern)
        return FrameSeq.parse(pattern).path(frame)

    def _read(self, pattern: str, frame: int) -> np.ndarray:
        path = self._path(pattern, frame)
        key = str(path)
        if key not in self._cache:
            if not path.is_file():
                raise BadInputError(f"ST map {path} (frame {frame}) does not exist")
            if len(self._cache) > 8:
                self._cache.clear()
            self._cache[key] = read_stmap(path)
        return self._cache[key]

    def undistort(self, frame: int) -> np.ndarray:
        return self._read(self.undistort_pattern, frame)

    def redistort(self, frame: int) -> np.ndarray:
        return self._read(self.redistort_pattern, frame)

    def files(self, frame: int) -> list[Path]:
        return [self._path(self.undistort_pattern, frame), self._path(self.redistort_pattern, frame)]

    def check(self, frame: int, cg_size: tuple[int, int], plate_size: tuple[int, int]) -> None:
        """Raise BadInputError unless the maps have the CG and plate sizes ((W, H) each)."""
        u, r = self.undistort(frame), self.redistort(frame)
        if (u.shape[1], u.shape[0]) != tuple(cg_size):
            raise BadInputError(
                f"undistort ST map {self._path(self.undistort_pattern, frame)} is {u.shape[1]}x{u.shape[0]} but the "
                f"depth renders are {cg_size[0]}x{cg_size[1]} (it must have the CG renders' size)"
            )
        if (r.shape[1], r.shape[0]) != tuple(plate_size):
            raise BadInputError(
                f"redistort ST map {self._path(self.redistort_pattern, frame)} is {r.shape[1]}x{r.shape[0]} but the "
                f"plate is {plate_size[0]}x{plate_size[1]} (it must have the plate's size)"
            )


def radial_stmaps(cg_size: tuple[int, int], plate_size: tuple[int, int], focal_px: float, k1: float, k2: float = 0.0,
                  *, iterations: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """(undistort, redistort) ST maps of a radial (Brown) lens, centred on both images.

    With distorted normalised coordinates ``d = (x_plate - c_plate) / focal_px`` and
    ``r = |d|``, the undistorted ones are ``u = d * (1 + k1 r^2 + k2 r^4)`` and
    ``x_cg = c_cg + focal_px * u`` (one pixel pitch in both images; the CG frame may be larger:
    overscan). k1 > 0 is barrel distortion. The inverse (undistort map) is solved by fixed-point
    iteration.
    """
    wc, hc = cg_size
    wp, hp = plate_size
    cxc, cyc = (wc - 1) / 2.0, (hc - 1) / 2.0
    cxp, cyp = (wp - 1) / 2.0, (hp - 1) / 2.0
    # redistort: plate pixel -> CG pixel
    yp, xp = np.mgrid[0:hp, 0:wp].astype(np.float64)
    dx, dy = (xp - cxp) / focal_px, (yp - cyp) / focal_px
    r2 = dx * dx + dy * dy
    f = 1.0 + k1 * r2 + k2 * r2 * r2
    redistort = pixels_to_st(cxc + focal_px * dx * f, cyc + focal_px * dy * f, wc, hc)
    # undistort: CG pixel -> plate pixel (invert u = d * f(|d|))
    yc, xc = np.mgrid[0:hc, 0:wc].astype(np.float64)
    ux, uy = (xc - cxc) / focal_px, (yc - cyc) / focal_px
    ddx, ddy = ux.copy(), uy.copy()
    for _ in range(iterations):
        r2 = ddx * ddx + ddy * ddy
        f = 1.0 + k1 * r2 + k2 * r2 * r2
        ddx, ddy = ux / f, uy / f
    undistort = pixels_to_st(cxp + focal_px * ddx, cyp + focal_px * ddy, wp, hp)
    return undistort, redistort
