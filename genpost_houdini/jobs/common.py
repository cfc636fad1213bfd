"""What every job shares: parameter checking against its ``JOB_PARAMS``, frame ranges, and the
per-frame work-unit loop (skip what is done with the same inputs, publish atomically, record).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TypeVar

from ..errors import UsageError
from ..progress import ProgressFn
from ..shot.frames import format_frames, parse_frame_range

T = TypeVar("T")

#: Output EXRs: lossless, one scanline per block: faster to write than 16-line zip and what comp
#: packages read fastest (Nuke's "zip1").
OUTPUT_COMPRESSION = "zips"


def merge_params(job: str, spec: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` over ``spec``'s defaults; unknown names and missing required ones (default
    None) are refused by name."""
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise UsageError(f"unknown {job} parameter(s): {', '.join(unknown)}")
    missing = [k for k, v in spec.items() if v is None and params.get(k) in (None, "", [])]
    if missing:
        raise UsageError(f"missing {job} parameter(s): {', '.join(missing)}")
    return {**{k: v for k, v in spec.items() if v is not None}, **params}


def frame_list(value: str | Sequence[int]) -> list[int]:
    """A frame range text ("1001-1048") or a list of frames -> sorted unique frames."""
    return parse_frame_range(value) if isinstance(value, str) else sorted(set(int(f) for f in value))


def run_frames(
    *,
    out_dir: Path,
    frames: Sequence[int],
    shot_frames: Sequence[int],
    inputs_hash: Callable[[int], str],
    render: Callable[[int, str], T],
    write: Callable[[int, str, T], list[Path]],
    force: bool,
    progress: ProgressFn,
    start: float = 0.0,
) -> tuple[list[int], list[int]]:
    """The work-unit loop: per frame, skip it when its outputs exist with the same recorded
    inputs hash (unless ``force``), else render it, publish it (atomic) and record it.

    Frame t's write (EXR compression, which releases the GIL) overlaps frame t+1's render; a
    frame is recorded in the manifest only once its files are published, in frame order, and
    a failure in either stops the loop after the frames already published are recorded.
    Returns (written, skipped).
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    from ..farm.workunit import Manifest

    outside = sorted(set(frames) - set(shot_frames))
    if outside:
        raise UsageError(f"frames {format_frames(outside)} lie outside the shot range {format_frames(shot_frames)}")
    manifest = Manifest(out_dir)
    written: list[int] = []
    skipped: list[int] = []
    span = 1.0 - start
    pending: tuple[int, str, float, Future[list[Path]]] | None = None

    def finish() -> None:
        nonlocal pending
        if pending is None:
            return
        t, digest, done, future = pending
        pending = None
        outputs = future.result()
        manifest.record(t, digest, outputs)
        written.append(t)
        progress(done, f"frame {t}: written {', '.join(p.name for p in outputs)}")

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="genpost-write") as writer:
        try:
            for i, t in enumerate(frames):
                digest = inputs_hash(t)
                done = start + span * (i + 1) / len(frames)
                if not force and manifest.is_done(t, digest):
                    skipped.append(t)
                    progress(done, f"frame {t}: up to date, skipped")
                    continue
                data = render(t, digest)
                finish()
                pending = (t, digest, done, writer.submit(write, t, digest, data))
            finish()
        finally:
            if pending is not None:  # an error while rendering: publish what is being written
                try:
                    finish()
                except Exception:  # the first error is the one to report
                    pass
    return written, skipped


def layer_is_current(path: Path, inputs_hash: str) -> bool:
    """True when ``path`` is a layer this job wrote for the same inputs (a rerun need not rewrite it)."""
    if not path.is_file():
        return False
    from pxr import Sdf

    layer = Sdf.Layer.OpenAsAnonymous(str(path))
    data = dict(layer.customLayerData) if layer else {}
    return dict(data.get("genpost") or {}).get("inputs_hash") == inputs_hash
