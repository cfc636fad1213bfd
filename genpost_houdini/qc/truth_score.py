"""Scoring a set extension of a real plate against its truth (the evaluation harness).

:func:`score_real_plate` reads a :class:`~genpost_houdini.samples.realplate.RealPlate` build and
the ``setext.####.exr`` a job wrote for it, and measures what issue 11 is checked by:

- ``kept_changed_pixels``: pixels with matte 0 whose RGB differ from the input plate (must be 0);
- ``leaked_pixels``: fully extended pixels (matte >= 0.999) of the moving object's colour where
  the truth is not;
- ``cast_fraction`` / ``cast_fraction_truth``: fully extended pixels visibly of the screen's hue
  in the output / in the truth with grain;
- ``grain_ratio``: high-frequency energy of the output over the truth-with-grain's, on the fully
  extended pixels at least 4 pixels from the edge (0.7..1.4 wanted);
- ``edge_step_ratio``: the step across the matte edge (:func:`.plates.edge_step_sums`) of the
  output over the truth-with-grain's (<= 1.5 wanted); ``edge_step_ratio_ideal`` divides by the
  step of the best possible output (the plate where it is kept, the truth where extended);
- ``median_error_seen``: median absolute error (mean over RGB) against the truth on fully
  extended pixels that another frame's kept plate saw (geometry: depth, camera, lens);
  ``median_error_seen_grain`` against the truth with grain;
- ``ramp_error``: mean absolute error (mean over RGB) against the truth with grain on the matte's
  soft edge (0 < matte < 0.999): a dark or screen-coloured line along the edge shows here;
  ``ramp_error_plain`` is the same for the plain composite ``plate * (1 - m) + truth * m`` (the
  screen mixed into the edge, a perfect extension);
- ``sources``: fraction of fully extended pixels per ``source`` code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..conditioning.morphology import erode
from .plates import edge_step_sums, hf_energy_sums, screen_cast

#: Thresholds the issue states.
LIMITS = {"grain_ratio": (0.7, 1.4), "edge_step_ratio": 1.5, "median_error_seen": 0.06, "median_error_seen_lens": 0.008}


def object_coloured(image: np.ndarray, rgb: Sequence[float]) -> np.ndarray:
    """Pixels of the moving object's hue: its dominant channel over 3x each other channel."""
    ch = int(np.argmax(rgb))
    others = [c for c in range(3) if c != ch]
    img = np.asarray(image, np.float32)
    return (img[..., ch] > 3.0 * np.maximum(img[..., others[0]], img[..., others[1]])) & (img[..., ch] > 0.04)


def seen_by_other_frames(real: Any, frames: Sequence[int] | None = None) -> dict[int, np.ndarray]:
    """Per frame, plate-space pixels whose surface another frame's kept plate (matte 0, no
    moving object) saw: reprojected in undistorted space with depth and camera."""
    from ..geometry import reproject
    from ..shot.lens import MASK_FILTER, read_stmap, warp_stmap
    from ..imageio import exr
    from ..shot.camera import CameraTrack

    frames = list(real.frames if frames is None else frames)
    track = CameraTrack.open(Path(real.stage), real.camera)
    cw, ch = real.cg_size
    und = read_stmap(real.undistort) if real.undistort else None
    red = read_stmap(real.redistort) if real.redistort else None
    depth, usable, views = {}, {}, {}
    for f in real.frames:
        depth[f] = exr.read_depth(real.path("depth", f))
        views[f] = track.view(f, cw, ch)
        kept = ((exr.read_mask(real.path("matte", f)) == 0) & (exr.read_mask(real.path("moving", f)) == 0)).astype(np.float32)
        if und is not None:
            kept_u, valid = warp_stmap(kept, und, filtername=MASK_FILTER)
            usable[f] = (kept_u[..., 0] >= 0.999) & valid
        else:
            usable[f] = kept > 0.5
    out = {}
    for t in frames:
        seen = np.zeros((ch, cw), bool)
        for s in real.frames:
            if s == t:
                continue
            sampled, valid = reproject(usable[s].astype(np.float32), depth[s], views[s], depth[t], views[t])
            seen |= valid & (sampled[..., 0] > 0.99)
        if red is not None:
            seen_p, valid = warp_stmap(seen.astype(np.float32), red, filtername=MASK_FILTER)
            seen = (seen_p[..., 0] >= 0.999) & valid
        out[t] = seen
    return out


def score_real_plate(real: Any, out_dir: str | os.PathLike[str], *, frames: Sequence[int] | None = None) -> dict[str, Any]:
    """The harness figures (module docstring) of ``out_dir/setext.####.exr`` for ``real``."""
    from ..imageio import exr

    frames = list(real.frames if frames is None else frames)
    out_dir = Path(out_dir)
    seen = seen_by_other_frames(real, frames)
    screen = real.spec.screen
    kept_changed = leaked = full_total = 0
    cast_out = cast_truth = 0
    hf = {"out": [0.0, 0], "truth": [0.0, 0]}
    step = {"out": [0.0, 0], "truth": [0.0, 0], "ideal": [0.0, 0]}
    err, err_g = [], []
    ramp_err = {"out": [0.0, 0], "plain": [0.0, 0]}
    sources: dict[int, int] = {}
    for f in frames:
        img = exr.read_exr(out_dir / f"setext.{f:04d}.exr")
        rgb = img.get(["R", "G", "B"])
        source = np.rint(img.channel("source")).astype(np.int64)
        plate = exr.read_rgb(real.path("plate", f))
        matte = exr.read_mask(real.path("matte", f))
        truth = exr.read_rgb(real.path("truth", f))
        truth_g = exr.read_rgb(real.path("truth_grain", f))
        kept = matte == 0
        kept_changed += int((rgb[kept] != plate[kept]).any(axis=-1).sum())
        full = matte >= 0.999
        full_total += int(full.sum())
        leaked += int((full & object_coloured(rgb, real.object_rgb) & ~object_coloured(truth_g, real.object_rgb)).sum())
        if screen:
            cast_out += int((full & screen_cast(rgb, screen)).sum())
            cast_truth += int((full & screen_cast(truth_g, screen)).sum())
        inner = erode(full, 4, outside=True)
        for key, image in (("out", rgb), ("truth", truth_g)):
            s, n = hf_energy_sums(image, inner)
            hf[key][0] += s
            hf[key][1] += n
        ideal = plate * (1.0 - matte[..., None]) + truth_g * matte[..., None]
        ramp = (matte > 0) & (matte < 0.999)
        for key, image in (("out", rgb), ("plain", ideal)):
            ramp_err[key][0] += float(np.abs(image[ramp] - truth_g[ramp]).mean(axis=-1).sum())
            ramp_err[key][1] += int(ramp.sum())
        for key, image in (("out", rgb), ("truth", truth_g), ("ideal", ideal)):
            s, n = edge_step_sums(image, matte)
            step[key][0] += s
            step[key][1] += n
        sel = full & seen[f]
        if sel.any():
            err.append(np.abs(rgb[sel] - truth[sel]).mean(axis=-1))
            err_g.append(np.abs(rgb[sel] - truth_g[sel]).mean(axis=-1))
        codes, counts = np.unique(source[full], return_counts=True)
        for c, n in zip(codes.tolist(), counts.tolist()):
            sources[c] = sources.get(c, 0) + n

    def ratio(a: list, b: list) -> float | None:
        if not a[1] or not b[1] or b[0] <= 0:
            return None
        return (a[0] / a[1]) / (b[0] / b[1])

    errors = np.concatenate(err) if err else np.zeros(0)
    errors_g = np.concatenate(err_g) if err_g else np.zeros(0)
    return {
        "frames": [frames[0], frames[-1]],
        "full_pixels": full_total,
        "kept_changed_pixels": kept_changed,
        "leaked_pixels": leaked,
        "cast_fraction": cast_out / max(full_total, 1) if screen else None,
        "cast_fraction_truth": cast_truth / max(full_total, 1) if screen else None,
        "grain_ratio": ratio(hf["out"], hf["truth"]),
        "edge_step_ratio": ratio(step["out"], step["truth"]),
        "edge_step_ratio_ideal": ratio(step["out"], step["ideal"]),
        "edge_step": step["out"][0] / max(step["out"][1], 1),
        "edge_step_truth": step["truth"][0] / max(step["truth"][1], 1),
        "seen_pixels": int(errors.size),
        "median_error_seen": float(np.median(errors)) if errors.size else None,
        "median_error_seen_grain": float(np.median(errors_g)) if errors_g.size else None,
        "ramp_error": ramp_err["out"][0] / ramp_err["out"][1] if ramp_err["out"][1] else None,
        "ramp_error_plain": ramp_err["plain"][0] / ramp_err["plain"][1] if ramp_err["plain"][1] else None,
        "sources": {str(k): v / max(full_total, 1) for k, v in sorted(sources.items())},
    }
