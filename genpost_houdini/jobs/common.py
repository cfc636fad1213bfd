"""What every job shares: parameter checking against its ``JOB_PARAMS``, frame ranges, and the
per-frame work-unit loop (skip what is done with the same inputs, publish atomically, record).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TypeVar

from ..errors import UsageError
from ..progress import ProgressFn
from ..shot.frames import format_frames, parse_frame_range

if TYPE_CHECKING:  # pragma: no cover
    from .workunit import Manifest

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


#: Parameters that are not part of a job's identity: the frame range (chunks of one job share
#: a folder), the output folder itself, and what only the runner decides.
NOT_IDENTITY = frozenset({"frames", "out", "allow_pickle"})


def job_identity(kind: str, params: Mapping[str, Any], path_params: Sequence[str] = ()) -> dict[str, Any]:
    """The identity of a job for its output folder's manifest: its kind and every parameter
    but those in :data:`NOT_IDENTITY`, with the ``path_params`` made absolute and frame tokens
    written ``####`` (so ``plate.$F4.exr`` given from another folder names the same input)."""
    values: dict[str, Any] = {}
    for name in sorted(params):
        if name in NOT_IDENTITY:
            continue
        value = params[name]
        if name in path_params and value not in (None, "", []):
            value = [_canonical_path(v) for v in value] if isinstance(value, (list, tuple)) else _canonical_path(value)
        values[name] = value
    return {"kind": kind, "parameters": values}


def _canonical_path(value: Any) -> str:
    import os

    from ..shot.frames import FrameSeq

    # realpath: the same files reached through a symlinked folder are the same job's inputs
    text = os.path.realpath(os.fspath(value))
    try:
        return FrameSeq.parse(text).hash_pattern
    except UsageError:  # no frame token: a plain file or folder
        return text


def claim_output(out_dir: Path, job: Mapping[str, Any], *, force: bool) -> "Manifest":
    """Open ``out_dir``'s manifest for ``job`` (see :func:`job_identity`), creating the folder.

    Before any work: the folder must be creatable and writable (a file in the way, a read-only
    filesystem or no permission: exit 3; no space or I/O error: exit 75), and not belong to
    another job (exit 3 naming both, unless ``force``, which hands the folder over).
    """
    from ..atomic import ensure_folder
    from .workunit import Manifest

    ensure_folder(out_dir, "output folder", probe=True)
    return Manifest(out_dir, job=job, take_over=force)


def check_in_shot(frames: Sequence[int], shot_frames: Sequence[int]) -> None:
    """UsageError naming the frames of ``frames`` that are not in the shot range ``shot_frames``."""
    outside = sorted(set(frames) - set(shot_frames))
    if outside:
        raise UsageError(f"frames {format_frames(outside)} lie outside the shot range {format_frames(shot_frames)}")


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
    manifest: "Manifest | None" = None,
) -> tuple[list[int], list[int]]:
    """The work-unit loop: per frame, skip it when its outputs exist with the same recorded
    inputs hash (unless ``force``), else render it, publish it (atomic) and record it.

    Frame t's write (EXR compression, which releases the GIL) overlaps frame t+1's render; a
    frame is recorded in the manifest only once its files are published, in frame order, and
    a failure (or an interrupt: SIGINT, SIGTERM) in either stops the loop after the frame being
    written is published and recorded. Each frame is claimed first (an OS lock): a frame
    another run of the job is computing is left for the end, then skipped when that run
    recorded it, so two runs at once never compute a frame twice (with ``force``, a frame
    recorded by another run after this one started counts as redone). ``manifest`` is the
    folder's manifest from :func:`claim_output` (closed here); without it one is opened.
    Returns (written, skipped).
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    from .workunit import FrameClaim, Manifest

    check_in_shot(frames, shot_frames)
    if manifest is None:
        manifest = Manifest(out_dir)
    written: list[int] = []
    skipped: list[int] = []
    span = 1.0 - start
    pending: tuple[int, str, FrameClaim, Future[list[Path]]] | None = None
    before = {t: manifest.entry(t) for t in frames} if force else {}

    def finish() -> None:
        nonlocal pending
        if pending is None:
            return
        t, digest, claim, future = pending
        pending = None
        try:
            outputs = future.result()
            manifest.record(t, digest, outputs)
        finally:
            claim.release()
        written.append(t)
        progress(start + span * (len(written) + len(skipped)) / len(frames),
                 f"frame {t}: written {', '.join(p.name for p in outputs)}")

    def one(t: int, claim: FrameClaim, writer: ThreadPoolExecutor) -> None:
        nonlocal pending
        try:
            digest = inputs_hash(t)
            manifest.refresh()  # another run may have recorded it since
            redone_elsewhere = force and manifest.entry(t) != before.get(t)
            if (not force or redone_elsewhere) and manifest.is_done(t, digest):
                claim.release()
                skipped.append(t)
                progress(start + span * (len(written) + len(skipped)) / len(frames), f"frame {t}: up to date, skipped")
                return
            data = render(t, digest)
        except BaseException:
            claim.release()
            raise
        try:
            finish()
        except BaseException:
            claim.release()
            raise
        pending = (t, digest, claim, writer.submit(write, t, digest, data))

    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="genpost-write") as writer:
            try:
                later: list[int] = []
                for t in frames:
                    claim = manifest.claim(t)
                    if claim is None:  # another run of this job is computing it
                        later.append(t)
                        continue
                    one(t, claim, writer)
                for t in later:
                    finish()  # publish ours before waiting on theirs
                    progress(start + span * (len(written) + len(skipped)) / len(frames),
                             f"frame {t}: waiting for another run of this job")
                    claim = manifest.claim(t, wait=True)
                    assert claim is not None
                    one(t, claim, writer)
                finish()
            finally:
                if pending is not None:  # an error or interrupt while rendering: publish what is being written
                    try:
                        finish()
                    except BaseException:  # the first error is the one to report
                        pass
    finally:
        manifest.close()
    return sorted(written), sorted(skipped)


def generator_options(*, model: str | None, runtime: str, allow_pickle: bool) -> dict[str, Any]:
    """The options a job gives :func:`~genpost_houdini.generators.registry.get_generator`:
    the model folder when set, the runtime unless ``auto``, ``allow_pickle`` only when allowed."""
    options: dict[str, Any] = {}
    if runtime != "auto":
        options["runtime"] = runtime
    if model:
        options["model"] = model
    if allow_pickle:
        options["allow_pickle"] = True
    return options


def layer_is_current(path: Path, inputs_hash: str) -> bool:
    """True when ``path`` is a layer this job wrote for the same inputs (a rerun need not rewrite it)."""
    if not path.is_file():
        return False
    from pxr import Sdf

    layer = Sdf.Layer.OpenAsAnonymous(str(path))
    data = dict(layer.customLayerData) if layer else {}
    return dict(data.get("genpost") or {}).get("inputs_hash") == inputs_hash
