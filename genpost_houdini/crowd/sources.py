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


def write_consent_record(pattern: str | FrameSeq, *, who: str, permitted_use: str, expires: str, reference: str) -> Path:
    """Write the sidecar consent record for a source pattern (atomic)."""
    from ..atomic import write_json_atomic

    seq = pattern if isinstance(pattern, FrameSeq) else FrameSeq.parse(pattern)
    path = consent_path_for(seq)[0]
    write_json_atomic(path, {"who": who, "permitted_use": permitted_use, "expires": expires, "reference": reference})
    return path


@dataclass
class CrowdSource:
    """One element sequence, cropped to the union of its alpha, premultiplied RGBA."""

    index: int
    pattern: str
    frames: list[int]
    sprites: np.ndarray  # (F, h, w, 4) float32 premultiplied
    consent: ConsentRecord | None
    matte: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def aspect(self) -> float:
        """Width / height of the element."""
        return self.sprites.shape[2] / self.sprites.shape[1]

    def sprite(self, frame_index: int) -> np.ndarray:
        return self.sprites[frame_index % len(self.sprites)]

    def provenance(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "variant_of": self.info.get("variant_of"),
            "generated_by": self.info.get("model"),
            "pattern": self.pattern,
            "matte": self.matte,
            "frames": format_frames(self.frames),
            "consent_reference": self.consent.reference if self.consent else "NO CONSENT RECORD (--no-consent-record)",
            "consent": self.consent.to_json() if self.consent else None,
        }


def load_source(
    index: int,
    pattern: str,
    *,
    matte: str | None = None,
    frames: Sequence[int] | None = None,
    require_consent: bool = True,
    max_height: int = 512,
) -> CrowdSource:
    """Read a source sequence (RGBA, or RGB + matte), premultiply, crop to the alpha's union."""
    from ..imageio import exr

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

    rgba = []
    for f in frames:
        path = seq.path(f)
        img = exr.read_exr(path)
        rgb = exr.read_rgb(path)
        if matte_seq is not None:
            alpha = exr.read_mask(matte_seq.path(f))
            premult = rgb * alpha[..., None]
        elif "A" in img.channels:
            alpha = np.clip(img.channel("A"), 0.0, 1.0)
            premult = rgb  # EXR RGBA is premultiplied by convention
        else:
            raise BadInputError(f"crowd source {path} has no alpha channel A and no --source-matte was given")
        if alpha.shape != rgb.shape[:2]:
            raise BadInputError(f"crowd source matte for frame {f} does not match {path} in resolution")
        rgba.append(np.concatenate([premult, alpha[..., None]], axis=-1).astype(np.float32))
    stack = np.stack(rgba)
    cover = stack[..., 3].max(axis=0) > 1e-3
    if not cover.any():
        raise BadInputError(f"crowd source {pattern}: alpha is empty in every frame")
    ys, xs = np.nonzero(cover)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    sprites = np.ascontiguousarray(stack[:, y0:y1, x0:x1])
    if sprites.shape[1] > max_height:  # keep memory small: people are never that tall on screen twice
        step = int(np.ceil(sprites.shape[1] / max_height))
        sprites = np.ascontiguousarray(sprites[:, ::step, ::step])
    return CrowdSource(
        index=index,
        pattern=str(pattern),
        frames=frames,
        sprites=sprites,
        consent=consent,
        matte=str(matte or ""),
        info={"crop": [int(x0), int(y0), int(x1), int(y1)]},
    )
