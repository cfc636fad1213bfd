"""The demo: the bundled street shot, set extension on it, QC, and a contact sheet.

What `make demo` runs. Everything is built procedurally (no downloads, no weights) so it works
on a fresh machine. The shot's plate holds a blue screen, a rig to remove (its roto is in the
extend mask) and a car driving through the kept plate; set extension runs with default settings
(no ``--holdout``: the car is rejected as moving content), so every ``source`` appears, and QC
reports the pixels per source, the car leaked into the extension and spill beside the truth's.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_json_atomic, write_text_atomic
from ..progress import ProgressFn

log = logging.getLogger("genpost")


def run_demo(
    out_dir: str | os.PathLike[str],
    *,
    frames: int = 48,
    resolution: tuple[int, int] = (960, 540),
    generator: str = "classical",
    seed: int = 0,
    crowd_count: int = 160,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Build the bundled shot under ``out/shot``, extend it into ``out/setext``, measure it, and
    write ``out/contact_sheet.png`` and ``out/qc.json`` / ``out/qc.md``. Returns a summary."""
    from ..imageio import exr
    from ..jobs.set_extension import run_job
    from ..qc.contact_sheet import crowd_detail, source_view, to_srgb8, write_contact_sheet
    from ..qc.warping import format_error, warping_error
    from ..samples.street import build_street
    from ..shot.frames import FrameSeq, format_frames
    from ..shot.shot import Shot

    out = Path(out_dir)
    report = progress or (lambda f, m: None)
    report(0.0, "building the bundled street shot")
    sample = build_street(out / "shot", frames=frames, width=resolution[0], height=resolution[1])
    info = sample.to_json()
    shot_frames = list(range(int(info["first_frame"]), int(info["last_frame"]) + 1))
    params = {
        "stage": info["stage"],
        "camera": info["camera"],
        "plate": info["plate"],
        "depth": info["depth"],
        "extend": info["extend"],
        "frames": format_frames(shot_frames),
        "generator": generator,
        "seed": seed,
    }
    setext_dir = out / "setext"
    result = run_job(params, shot_frames, out_dir=setext_dir, progress=lambda f, m: report(0.1 + 0.7 * f, m))

    report(0.7, "crowd on the pavement")
    from ..jobs.crowd_replication import CrowdParams, CrowdReplication
    from ..qc.crowd import crowd_qc
    from ..samples.scene import StreetScene

    # The bundled extras library (written beside the shot) on the sunlit pavement, graded to the
    # plate, lit by the shot's sun (the direction its light travels).
    sun = -StreetScene().sun_dir
    crowd_job = CrowdReplication(
        CrowdParams.from_mapping({
            "stage": info["stage"], "camera": info["camera"], "region": info["crowd_region"],
            "source": list(info["crowd_sources"]), "depth": info["depth"], "plate": info["plate"],
            "frames": format_frames(shot_frames), "count": crowd_count, "seed": seed,
            "light_direction": ",".join(f"{v:.6f}" for v in sun),
            # The bundled plate is a CG render without motion blur: the crowd matches it.
            "shutter": 0.0,
        }),
        out / "crowd",
        progress=lambda f, m: report(0.7 + 0.1 * f, m),
    )
    crowd_result = crowd_job.run()
    crowd_result["qc"] = crowd_qc(crowd_job, shot_frames, plate=info["plate"])

    report(0.8, "measuring temporal stability")
    shot = Shot.open(info["stage"], camera=info["camera"], depth=info["depth"], frames=shot_frames, plate=info["plate"], mask=info["extend"])
    images = FrameSeq.parse(str(setext_dir / "setext.####.exr"))
    sources = source_counts(images, shot_frames)
    qc_result = warping_error(shot, lambda f: exr.read_rgb(images.path(f)), shot_frames).to_json()
    truth_pattern = info.get("truth")
    truth_error = None
    plates: dict[str, Any]
    if truth_pattern:
        truth = FrameSeq.parse(truth_pattern)
        errs = []
        for f in shot_frames[:: max(1, len(shot_frames) // 8)]:
            mask = shot.read("mask", f)
            got = exr.read_rgb(images.path(f))
            want = exr.read_rgb(truth.path(f))
            errs.append(float(np.mean(np.abs(got[mask] - want[mask]))) if mask.any() else 0.0)
        truth_error = float(np.mean(errs))
        plates = plate_figures_vs_truth(shot, truth, images, result, shot_frames)
    else:
        plates = {}

    report(0.9, "writing the contact sheet")
    picks = shot_frames[:: max(1, (len(shot_frames) - 1) // 3)][:4]
    rows = []
    for f in picks:
        plate = shot.read("plate", f)
        out_img = exr.read_exr(images.path(f), ["R", "G", "B", "source"])
        tiles = [("plate (before)", to_srgb8(plate)), ("set extension (after)", to_srgb8(out_img.get(["R", "G", "B"])))]
        tiles.append(("source: grey plate, blue other frame, green keyframe, orange generated", source_view(out_img.channel("source"))))
        crowd = exr.read_exr(out / "crowd" / f"crowd.{f:04d}.exr", ["R", "G", "B", "A", "shadow"])
        under = out_img.get(["R", "G", "B"]) * (1.0 - crowd.channel("shadow")[..., None])
        over = crowd.get(["R", "G", "B"]) + under * (1.0 - crowd.channel("A")[..., None])
        tiles.append(("+ crowd (shadow channel under it)", to_srgb8(over)))
        tiles.append(("crowd, detail", crowd_detail(to_srgb8(over), crowd.channel("A"))))
        rows.append((f"frame {f}", tiles))
    sheet = write_contact_sheet(out / "contact_sheet.png", rows, title=f"genpost set extension, bundled street shot, generator {generator}, keyframes {result['keyframes']}")

    summary = {
        "shot": info,
        "setext": result,
        "qc": {
            "region_warping_error": qc_result["region"]["warping_error"],
            "plate_warping_error": qc_result["plate"]["warping_error"],
            "ratio": qc_result["ratio"],
            "mean_abs_error_vs_truth": truth_error,
            "sources": sources,
            **plates,
        },
        "contact_sheet": str(sheet),
        "crowd": crowd_result,
    }
    write_json_atomic(out / "qc.json", {"warping": qc_result, "summary": summary["qc"], "setext": result, "crowd": crowd_result})
    lines = [
        "# genpost demo: QC report",
        "",
        f"- shot: {info['stage']} ({info['camera']}), frames {format_frames(shot_frames)}, {resolution[0]}x{resolution[1]}",
        f"- generator: {generator}, seed {seed}, keyframes {result['keyframes']}",
        f"- extend pixels left after plate projection: {100 * result['missing_after_plates']:.1f}% ; after keyframes: {100 * result['missing_after_keyframes']:.2f}%",
        f"- warping error inside the extension: {format_error(qc_result['region']['warping_error'])}",
        f"- warping error on the plate (reference): {format_error(qc_result['plate']['warping_error'])}",
        f"- ratio extension/plate: {qc_result['ratio']:.2f}" if qc_result["ratio"] is not None else "- ratio: n/a",
    ]
    if truth_error is not None:
        lines.append(f"- mean absolute error vs the full set render, inside the extension: {truth_error:.4f}")
    names = ("plate", "other frame", "keyframe", "generated")
    lines.append("- output pixels per `source` over all frames: " + ", ".join(
        f"{code} {names[int(code)]} {n['pixels']} (in {n['frames']} frames)" for code, n in sources.items()))
    lines.append(f"- moving content found in the kept plate of {len(result.get('moving_frames') or [])} frames (no --holdout given)")
    if plates:
        lines.append(f"- leaked moving content (multi-view check, `leaked_pixels`): {plates['leaked_per_frame']} px "
                     f"per frame; the truth render measured the same way: {plates['leaked_per_frame_truth']} px per frame")
        lines.append(f"- car-coloured pixels in the extension where the truth has none: {plates['car_pixels_in_extension']} px "
                     "over all frames")
        lines.append(f"- spill (screen-hued pixels in the full extension, `spill_pixels`): {plates['spill_per_frame']} px "
                     f"per frame; in the truth render: {plates['spill_per_frame_truth']} px per frame")
    cq = crowd_result["qc"]
    closest = cq["closest_pair"]
    sliding = cq["foot_sliding"]
    lines += [
        f"- crowd: {crowd_result['instances']} people ({crowd_result['walkers']} walking) from "
        f"{len(info['crowd_sources'])} library people on {info['crowd_region']}; "
        f"warping error {format_error(cq['warping_error'])} (plate {format_error(cq['plate_warping_error'])})",
        f"- crowd looks (appearance clusters, middle frame): {cq['looks']} among {cq['visible_instances_mid_frame']} "
        f"visible people; biggest look {100 * (cq['biggest_look_share'] or 0):.0f} % of them; "
        f"{cq['planned_looks_visible']} source/colourway looks dealt",
        f"- crowd closest pair: {closest['distance']} scene units (ids {closest['ids']}, frame {closest['frame']}); "
        f"spacing asked {cq['min_spacing']}",
        f"- crowd foot sliding (planted feet, walkers): max {sliding['max']} mean {sliding['mean']} scene units/frame "
        f"over {sliding['samples']} samples",
        f"- crowd shadow under the feet of {100 * (cq['shadow_under_people'] or 0):.0f} % of visible people; "
        f"repeated neighbour pairs: {len(cq['repeated_neighbour_pairs'])}",
    ]
    lines += ["", f"Contact sheet: {sheet.name}. Images: setext/setext.####.exr. USD layers: setext/setext.usda, crowd/crowd.usda."]
    write_text_atomic(out / "qc.md", "\n".join(lines) + "\n")
    report(1.0, "done")
    return summary


def source_counts(images: Any, frames: list[int]) -> dict[str, dict[str, int]]:
    """Pixels per ``source`` code (0 plate, 1 other frame, 2 keyframe, 3 generated) over
    ``frames`` of ``images`` (a FrameSeq of setext EXRs), and in how many frames each appears."""
    from ..imageio import exr

    out: dict[str, dict[str, int]] = {str(c): {"pixels": 0, "frames": 0} for c in range(4)}
    for f in frames:
        codes = np.rint(exr.read_exr(images.path(f), ["source"]).channel("source")).astype(np.int64)
        counts = np.bincount(np.clip(codes, 0, 3).ravel(), minlength=4)
        for c in range(4):
            out[str(c)]["pixels"] += int(counts[c])
            out[str(c)]["frames"] += int(counts[c] > 0)
    return out


def plate_figures_vs_truth(shot: Any, truth: Any, images: Any, result: dict[str, Any],
                           frames: list[int]) -> dict[str, Any]:
    """The job's real-plate figures per frame (``spill_per_frame``, ``leaked_per_frame``, from
    its ``spill_pixels`` and ``leaked_pixels``) beside the same measures of the ``truth`` render
    on every 4th frame (``*_truth``: what a perfect extension scores), and
    ``car_pixels_in_extension``: extended pixels of the car's paint where the truth has none
    (all frames). ``truth`` and ``images`` are FrameSeqs; ``shot`` has the plate and the mask."""
    from ..imageio import exr
    from ..qc.plate_report import plate_report
    from ..qc.truth_score import object_coloured
    from ..samples.props import CAR_PAINT
    from ..samples.raycast import REC709_TO_ACESCG

    some = frames[::4]
    ref = plate_report(shot, lambda f: exr.read_rgb(truth.path(f)), some, screen=result.get("screen") or "auto")
    paint = REC709_TO_ACESCG @ np.asarray(CAR_PAINT, np.float32)
    car = 0
    for f in frames:
        ext = shot.read("mask", f)
        got, want = exr.read_rgb(images.path(f)), exr.read_rgb(truth.path(f))
        car += int((ext & object_coloured(got, paint) & ~object_coloured(want, paint)).sum())
    per = lambda n, k: None if n is None else round(n / k, 1)  # noqa: E731
    return {"spill_per_frame": per(result.get("spill_pixels"), len(frames)),
            "spill_per_frame_truth": per(ref["spill_pixels"], len(some)),
            "leaked_per_frame": per(result.get("leaked_pixels"), len(frames)),
            "leaked_per_frame_truth": per(ref["leaked_pixels"], len(some)),
            "car_pixels_in_extension": car}
