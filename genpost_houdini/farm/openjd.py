"""Open Job Description bundles (what ``openjd run`` and AWS Deadline Cloud run) for a job file.

``write_bundle(job_file, out)`` writes, deterministically (same inputs, same bytes)::

    BUNDLE/template.yaml          jobtemplate-2023-09, extensions [TASK_CHUNKING]
    BUNDLE/parameter_values.yaml  Deadline Cloud's parameterValues list
    BUNDLE/asset_references.yaml  input / output folders for Deadline job attachments
    BUNDLE/job.json               the job file, paths made absolute

One step runs ``genpost run job.json --frames {{Task.Param.Frame}} [--wedge-index W]
--progress openjd``; frames are a ``CHUNK[INT]`` task parameter (contiguous, balanced chunks of
about ``ChunkSize`` frames; seeds come from frame numbers, so chunking never changes pixels) and
wedges an ``INT`` task parameter. A step environment runs ``genpost farm session enter`` once
per session (the job loads / warms its model there) and ``genpost farm session exit`` at the end.
Exit codes: 3 bad input (do not retry), 75 transient (retry), 1 failure.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..atomic import ensure_folder, write_json_atomic, write_text_atomic
from ..limits import MAX_FRAMES
from ..errors import UsageError
from ..jobs.registry import param_specs
from ..shot.frames import FrameSeq, format_frames, parse_frame_range
from .jobfile import JobSpec, load_job_file, spec_document
from .wedges import expand

TEMPLATE_NAME = "template.yaml"
VALUES_NAME = "parameter_values.yaml"
ASSETS_NAME = "asset_references.yaml"
JOB_NAME = "job.json"
DEFAULT_CHUNK = 8


def build_template(spec: JobSpec, *, chunk_size: int = DEFAULT_CHUNK, name: str | None = None) -> dict[str, Any]:
    """The OpenJD job template (a plain dict) for ``spec``."""
    if not 1 <= chunk_size <= MAX_FRAMES:
        raise UsageError(f"--chunk-size {chunk_size}: must be within 1..{MAX_FRAMES}")
    wedges = expand(spec.wedges)
    frames = format_frames(spec.shot_frames)
    task_params: list[dict[str, Any]] = [{
        "name": "Frame",
        "type": "CHUNK[INT]",
        "range": "{{Param.Frames}}",
        "chunks": {"defaultTaskCount": "{{Param.ChunkSize}}", "rangeConstraint": "CONTIGUOUS"},
    }]
    run_args = ["run", "{{Param.JobFile}}", "--frames", "{{Task.Param.Frame}}", "--progress", "openjd"]
    if wedges:
        task_params.append({"name": "Wedge", "type": "INT", "range": f"0-{len(wedges) - 1}"})
        run_args += ["--wedge-index", "{{Task.Param.Wedge}}"]
    session = lambda action: ["farm", "session", action, "{{Param.JobFile}}"]  # noqa: E731
    return {
        "specificationVersion": "jobtemplate-2023-09",
        "extensions": ["TASK_CHUNKING"],
        "name": name or f"genpost {spec.kind}",
        "description": spec.description or f"genpost {spec.kind} job, shot frames {frames}",
        "parameterDefinitions": [
            {"name": "JobFile", "type": "PATH", "objectType": "FILE", "dataFlow": "IN", "default": JOB_NAME,
             "description": "The genpost job file (inside the bundle)."},
            {"name": "Frames", "type": "STRING", "default": frames,
             "description": "Frames to run (a subset of the job's shot range)."},
            {"name": "ChunkSize", "type": "INT", "default": chunk_size, "minValue": 1,
             "description": "Frames per task (chunks are contiguous and balanced)."},
            {"name": "Genpost", "type": "STRING", "default": "genpost",
             "description": "The genpost executable on the workers."},
        ],
        "steps": [{
            "name": spec.kind,
            "parameterSpace": {"taskParameterDefinitions": task_params},
            "stepEnvironments": [{
                "name": "GenpostSession",
                "description": "Loads the job's model once per session; releases it at the end.",
                "script": {"actions": {
                    "onEnter": {"command": "{{Param.Genpost}}", "args": session("enter")},
                    "onExit": {"command": "{{Param.Genpost}}", "args": session("exit")},
                }},
            }],
            "script": {"actions": {"onRun": {
                "command": "{{Param.Genpost}}",
                "args": run_args,
                "cancelation": {"mode": "NOTIFY_THEN_TERMINATE", "notifyPeriodInSeconds": 30},
            }}},
        }],
    }


def parameter_values(spec: JobSpec, *, chunk_size: int = DEFAULT_CHUNK) -> dict[str, Any]:
    """Deadline Cloud's ``parameter_values.yaml`` content."""
    return {"parameterValues": [
        {"name": "Frames", "value": format_frames(spec.shot_frames)},
        {"name": "ChunkSize", "value": chunk_size},
    ]}


def asset_references(spec: JobSpec) -> dict[str, Any]:
    """Input and output folders, for Deadline Cloud job attachments."""
    inputs: set[str] = set()
    for name, pspec in param_specs(spec.kind).items():
        if pspec.role != "input" or name not in spec.params:
            continue
        values = spec.params[name]
        for value in values if isinstance(values, list) else [values]:
            inputs.add(_folder_of(str(value)))
    return {"assetReferences": {
        "inputs": {"directories": sorted(inputs), "filenames": []},
        "outputs": {"directories": [str(spec.out_dir)]},
    }}


def _folder_of(value: str) -> str:
    try:
        FrameSeq.parse(value)
    except UsageError:
        return value if os.path.isdir(value) else os.path.dirname(value)
    return os.path.dirname(value)


def write_bundle(
    job_file: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    chunk_size: int = DEFAULT_CHUNK,
    frames: str | None = None,
) -> Path:
    """Write the bundle for ``job_file`` into folder ``out`` (created); return ``out``."""
    import yaml

    spec = load_job_file(job_file)
    if frames is not None:
        chunk = parse_frame_range(frames)
        outside = sorted(set(chunk) - set(spec.shot_frames))
        if outside:
            raise UsageError(f"--frames: {format_frames(outside)} outside the shot range {spec.params['frames']}")
    template = build_template(spec, chunk_size=chunk_size, name=f"genpost {spec.kind} {Path(job_file).stem}")
    values = parameter_values(spec, chunk_size=chunk_size)
    if frames is not None:
        values["parameterValues"][0]["value"] = format_frames(parse_frame_range(frames))
    dump = lambda d: yaml.safe_dump(d, sort_keys=False, default_flow_style=False, width=100)  # noqa: E731
    out = ensure_folder(Path(out), "bundle folder")
    write_json_atomic(out / JOB_NAME, spec_document(spec))
    write_text_atomic(out / VALUES_NAME, dump(values))
    write_text_atomic(out / ASSETS_NAME, dump(asset_references(spec)))
    write_text_atomic(out / TEMPLATE_NAME, dump(template))  # last: the bundle's entry point
    return out


def openjd_params(bundle: str | os.PathLike[str]) -> dict[str, Any]:
    """``parameter_values.yaml`` as the ``{name: value}`` mapping ``openjd run -p file://`` takes."""
    import yaml

    doc = yaml.safe_load((Path(bundle) / VALUES_NAME).read_text(encoding="utf-8"))
    return {p["name"]: p["value"] for p in doc.get("parameterValues", [])}
