"""Real-plate QC of a set extension, per shot, without truth.

:func:`plate_report` measures an extended sequence against its own plate (``genpost qc
--plate`` and the set-extension JSON report these figures beside the warping error):

- ``spill_pixels``: fully extended pixels (matte >= 0.999) with more of the screen's hue than
  the set ever shows (0 without a screen; ``screen`` names it);
- ``leaked_pixels``: extended pixels that contradict what other frames' kept plates show there
  (moving content copied in, or a wrong projection): each frame's extension is compared with the
  median of other frames' kept, unspilled plate reprojected onto it (multi-view consistency at
  about 256 px across; view-dependent shading and exposure drift allowed);
- ``grain_ratio``: the grain of the extended pixels over the plate's (per channel, at the
  extension's median level; ``null`` when the plate has no measurable grain);
- ``edge_step``: the mean step across the matte edge (:func:`.plates.edge_step_sums`);
  ``edge_step_plate``: the same measure across a contour inside the kept plate (its natural
  variation at that scale); ``edge_step_ratio``: their ratio (about 1: no visible seam).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..progress import ProgressFn

#: Working sizes (pixels across): the leak check, and spill and edge step.
LEAK_SIZE, WORK_SIZE = 256, 1024


def plate_report(
    shot: Any,
    images: Callable[[int], np.ndarray],
    frames: Sequence[int],
    *,
    screen: str = "auto",
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """The figures of the module docstring for ``images`` (frame -> (H, W, 3) in plate space).

    ``shot`` must have a plate and a mask (the extend matte); its lens, when set, maps the
    filmed images to the depth's space for the leak check."""
    from ..conditioning.grain import measure_grain
    from ..conditioning.morphology import box_sum, dilate, erode
    from ..conditioning.plate import box_down, detect_screen, screen_tinted, spill_band_px, untrusted_pixels
    from ..consistency.multiview import compare_views, partner_frames
    from ..shot.camera import box_view
    from .plates import edge_step_sums

    frames = sorted(frames)
    samples = [(box_down(shot.read_plate_space("plate", f), 4), box_down(shot.read_plate_space("matte", f), 4))
               for f in frames[:: max(1, len(frames) // 8)]]
    scr = detect_screen(samples, screen)
    width, height = shot.resolution
    factor = max(1, int(round(max(width, height) / LEAK_SIZE)))
    spill = 0
    step = {"out": [0.0, 0], "plate": [0.0, 0]}
    grain_out: list[tuple[np.ndarray, np.ndarray]] = []
    grain_plate: list[tuple[np.ndarray, np.ndarray]] = []
    low: dict[str, dict[int, Any]] = {k: {} for k in ("img", "ok", "depth", "view", "region")}
    pw, ph = shot.plate_resolution
    work = max(1, int(round(max(pw, ph) / WORK_SIZE)))  # spill and edge at about WORK_SIZE across
    for i, f in enumerate(frames):
        out = np.asarray(images(f), np.float32)
        plate = shot.read_plate_space("plate", f)
        matte = shot.read_plate_space("matte", f)
        full = matte >= 0.999
        out_w, plate_w, matte_w = box_down(out, work), box_down(plate, work), box_down(matte, work)
        if scr.present:  # on a 3x3 mean: grain alone does not tint a pixel
            tinted = screen_tinted(box_sum(out_w, 1) / np.float32(9.0), scr)
            spill += int((tinted & (matte_w >= 0.999)).sum()) * work * work
        s, n = edge_step_sums(out_w, matte_w, radius=max(3, 12 // work))
        step["out"][0] += s
        step["out"][1] += n
        pseudo = dilate(matte_w > 0, max(3, 12 // work)).astype(np.float32)  # a contour inside the kept plate
        s, n = edge_step_sums(plate_w, pseudo, radius=max(3, 12 // work))
        step["plate"][0] += s
        step["plate"][1] += n
        if i % max(1, len(frames) // 3) == 0:  # grain on a few frames, at full resolution
            grain_out.append((out, erode(full, 4, outside=True)))
            grain_plate.append((plate, ~untrusted_pixels(plate, matte, scr)))
        # low resolution, depth's space: the extension (where it is used) and the kept plate
        kept_w = ~untrusted_pixels(plate_w, matte_w, scr, band=max(1, -(-spill_band_px(pw, ph) // work)) if scr.spill else 1)
        kept_ok = np.repeat(np.repeat(kept_w, work, axis=0), work, axis=1)
        kept_ok = np.pad(kept_ok, ((0, ph - kept_ok.shape[0]), (0, pw - kept_ok.shape[1])))[:ph, :pw]
        out_cg, ok_cg, region = out, kept_ok.astype(np.float32), full.astype(np.float32)
        if shot.lens is not None:
            from ..shot.lens import COLOUR_FILTER, MASK_FILTER, warp_stmap

            und = shot.lens.undistort(f)
            out_cg, _ = warp_stmap(out, und, filtername=COLOUR_FILTER)
            masks, _ = warp_stmap(np.stack([ok_cg, region], axis=-1), und, filtername=MASK_FILTER)
            ok_cg, region = masks[..., 0], masks[..., 1]
        depth = box_down(shot.read("depth", f), factor)
        low["img"][f] = box_down(out_cg, factor)
        low["ok"][f] = box_down(ok_cg, factor) >= 0.999
        low["region"][f] = box_down(region, factor) >= 0.999
        low["depth"][f] = depth
        low["view"][f] = box_view(shot.view(f), factor, depth.shape[1], depth.shape[0])
        if progress:
            progress(0.7 * (i + 1) / len(frames), f"qc: frame {f}")
    leaked = 0
    for i, t in enumerate(frames):
        # t's output (its extension and its own kept plate, which anchors the shading model)
        # against the others' kept plate; only the extension's disagreements count
        trusted = {**low["ok"], t: low["region"][t] | low["ok"][t]}
        check = compare_views(t, low["img"], trusted, low["depth"], low["view"], partner_frames(frames, t))
        confirmed = check.disagree & low["region"][t]
        leaked += int(confirmed.sum()) * factor * factor
        if progress:
            progress(0.7 + 0.3 * (i + 1) / len(frames), f"qc: consistency of frame {t}")
    g_out, g_plate = measure_grain(grain_out), measure_grain(grain_plate)
    grain_ratio = None
    if g_plate.present:
        level = np.full((1, 1, 3), float(np.median(g_plate.values)), np.float32)
        ref = g_plate.sigma_at(level)[0, 0]
        got = g_out.sigma_at(level)[0, 0] if g_out.present else np.zeros(3, np.float32)
        grain_ratio = float(np.mean(got / np.maximum(ref, 1e-9)))
    edge = step["out"][0] / step["out"][1] if step["out"][1] else None
    edge_plate = step["plate"][0] / step["plate"][1] if step["plate"][1] else None
    return {
        "screen": scr.kind,
        "spill_pixels": spill,
        "leaked_pixels": leaked,
        "grain_ratio": grain_ratio,
        "edge_step": edge,
        "edge_step_plate": edge_plate,
        "edge_step_ratio": (edge / edge_plate) if edge is not None and edge_plate else None,
    }
