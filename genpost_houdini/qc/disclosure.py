"""Per-shot generative-content disclosure: what was generated, by which model under which
licence, from which seeds and sources, with whose consent, over which frames.

Built from what the outputs themselves record (USD customLayerData and EXR headers), so it
describes the files that exist, not the intentions of a job file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..atomic import write_json_atomic, write_text_atomic
from ..errors import BadInputError


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    return value


def collect(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Every genpost output layer under ``out_dir`` with its provenance."""
    from pxr import Sdf

    root = Path(out_dir)
    if not root.is_dir():
        raise BadInputError(f"disclosure: {root} is not a folder")
    entries = []
    for layer_path in sorted(root.rglob("*.usda")):
        if ".genpost" in layer_path.parts:
            continue
        layer = Sdf.Layer.FindOrOpen(str(layer_path))
        if layer is None:
            continue
        data = dict(layer.customLayerData)
        prov = data.get("genpost")
        if not prov:
            continue
        prov = _decode(dict(prov))
        images = data.get("genpost_images") or ("crowd.####.exr" if prov.get("job") == "crowd" else "")
        frames = sorted(int(p.name.split(".")[-2]) for p in layer_path.parent.glob(f"{prov.get('job', '')}.*.exr") if p.name.split(".")[-2].isdigit())
        entries.append({
            "layer": str(layer_path.relative_to(root)),
            "job": prov.get("job"),
            "generator": prov.get("generator"),
            "model_id": prov.get("model_id"),
            "weights_hash": prov.get("weights_hash"),
            "licence": prov.get("licence"),
            "seed": prov.get("seed"),
            "prompt": prov.get("prompt"),
            "package_version": prov.get("version"),
            "inputs_hash": prov.get("inputs_hash"),
            "frames": [frames[0], frames[-1]] if frames else [],
            "frame_count": len(frames),
            "images": images,
            "sources": prov.get("sources", []),
            "no_consent_record": bool(prov.get("no_consent_record", False)),
        })
    if not entries:
        raise BadInputError(f"disclosure: no genpost output layers (setext.usda, crowd.usda) under {root}")
    return {"folder": str(root), "outputs": entries}


def to_markdown(report: dict[str, Any]) -> str:
    lines = ["# Generative content disclosure", "", f"Folder: `{report['folder']}`", ""]
    for e in report["outputs"]:
        lines += [
            f"## {e['job']}: `{e['layer']}`",
            "",
            f"- frames: {e['frames'][0]}-{e['frames'][1]} ({e['frame_count']} frames)" if e["frames"] else "- frames: none written",
            f"- generator: {e['generator']}; model: {e['model_id'] or 'none'}; licence: {e['licence'] or 'n/a'}",
            f"- weights hash: {e['weights_hash'] or 'n/a'}; seed: {e['seed']}; prompt: {e['prompt']!r}",
            f"- genpost-houdini {e['package_version']}; inputs hash {str(e['inputs_hash'])[:16]}",
        ]
        if e["sources"]:
            lines.append("- crowd sources (real people's likeness is replicated only with consent):")
            for s in e["sources"]:
                consent = s.get("consent") or {}
                made = s.get("generated_by") or {}
                origin = (f" — generated variant of source {s.get('variant_of')} by {made.get('model_id')} "
                          f"(licence {made.get('licence') or 'n/a'})") if s.get("variant_of") is not None else ""
                lines.append(
                    f"  - source {s.get('index')}: `{s.get('pattern')}` frames {s.get('frames')}{origin}: consent {s.get('consent_reference')}"
                    + (f" ({consent.get('who')}; use: {consent.get('permitted_use')}; until {consent.get('expires')})" if consent else "")
                )
        if e["no_consent_record"]:
            lines.append("- **WARNING: run with --no-consent-record: at least one source has no consent record.**")
        lines.append("")
    return "\n".join(lines)


def write_disclosure(out_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    report = collect(out_dir)
    root = Path(out_dir)
    md = write_text_atomic(root / "disclosure.md", to_markdown(report))
    js = write_json_atomic(root / "disclosure.json", report)
    return md, js
