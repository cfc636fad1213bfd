"""The bundled extras library: synthetic people with walk and idle cycles, for ``genpost crowd``.

:func:`build_extras_library` writes, per person of :data:`.people.PEOPLE` (none of them a real
person):

- ``<name>.####.exr``: R, G, B, A (premultiplied, scene-linear ACEScg), ``variation`` (the
  premultiplied coverage of clothing that may be recoloured; skin, hair, shoes and bags are 0)
  and ``variation_lower`` (the part of it below the waist);
  frames 1.. hold the walk cycle seen from each view angle in :data:`.people.VIEWS`, then the
  idle loop from each view;
- ``<name>.element.json``: the clips (kind, view, frame range, fps, walking speed in m/s at the
  person's height, feet per frame), the ground anchor and the person's height in pixels and
  metres; ``genpost crowd`` reads it to pick the clip and view per person and frame and to move
  walkers at exactly the cycle's speed (feet locked to the ground);
- ``<name>.consent.json``: the consent record, saying the person is synthetic;
- ``library.json``: the list of source patterns (what ``genpost samples crowd`` prints).

A folder already holding this exact build is reused; builds are also kept in a user cache
(``$GENPOST_CACHE_DIR``, else ``$XDG_CACHE_HOME/genpost`` or ``~/.cache/genpost``) and copied
from there, so a new folder takes about a second.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..atomic import write_json_atomic
from ..usercache import user_cache_root
from ..crowd.sources import ELEMENT_SUFFIX, VARIATION_CHANNEL, VARIATION_LOWER_CHANNEL, write_consent_record
from .people import PEOPLE, VIEWS, Person, pose

log = logging.getLogger("genpost")

#: Bumped whenever the people, their clips or the files change.
LIBRARY_VERSION = 4
ELEMENT_FPS = 24.0
IDLE_FRAMES = 12
IDLE_FPS = 6.0
DEFAULT_HEIGHT_PX = 160
CONSENT_REFERENCE = "GENPOST-SYNTHETIC-LIBRARY-{version}-{name}"


@dataclass(frozen=True)
class ExtrasLibrary:
    """Where a built library lies (absolute paths; patterns use ####)."""

    root: Path
    sources: tuple[str, ...]
    people: tuple[str, ...]
    height_px: int

    def to_json(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "sources": list(self.sources),
            "people": list(self.people),
            "consent": [str(self.root / f"{n}.consent.json") for n in self.people],
            "elements": [str(self.root / f"{n}{ELEMENT_SUFFIX}") for n in self.people],
            "height_px": self.height_px,
            "channels": ["R", "G", "B", "A", VARIATION_CHANNEL, VARIATION_LOWER_CHANNEL],
            "version": LIBRARY_VERSION,
        }


def _frame_plan(person: Person) -> list[tuple[str, int, int, float]]:
    """(kind, view, frames, fps) of each clip, in file order."""
    plan = [("walk", v, person.cycle_frames, ELEMENT_FPS) for v in VIEWS]
    plan += [("idle", v, IDLE_FRAMES, IDLE_FPS) for v in VIEWS]
    return plan


def _key(height_px: int, people: Sequence[Person]) -> dict[str, Any]:
    """What a build depends on: the version, the size and the people's designs (any change to a
    person's clothes or build makes a new build, never a stale cached one)."""
    design = hashlib.sha256(repr(tuple(people)).encode()).hexdigest()[:12]
    return {"library_version": LIBRARY_VERSION, "height_px": int(height_px), "people": [p.name for p in people],
            "design": design}


def _complete(root: Path, key: dict[str, Any]) -> ExtrasLibrary | None:
    """The library already in ``root`` with this key and every file present, else None."""
    try:
        data = json.loads((root / "library.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("build") != key:
        return None
    people = [p for p in PEOPLE if p.name in key["people"]]
    for person in people:
        n = sum(c[2] for c in _frame_plan(person))
        names = [f"{person.name}.{f:04d}.exr" for f in (1, n)] + [f"{person.name}.consent.json", f"{person.name}{ELEMENT_SUFFIX}"]
        if not all((root / name).is_file() for name in names):
            return None
        if (root / f"{person.name}.{n + 1:04d}.exr").exists():
            return None
    return ExtrasLibrary(root, tuple(str(root / f"{p.name}.####.exr") for p in people), tuple(p.name for p in people), int(key["height_px"]))


def build_extras_library(out_dir: str | os.PathLike[str], *, height_px: int = DEFAULT_HEIGHT_PX,
                         people: Sequence[Person] = PEOPLE, force: bool = False) -> ExtrasLibrary:
    """Write the bundled extras library into ``out_dir`` (see the module docstring)."""
    from ..errors import UsageError

    if not 48 <= height_px <= 1024:
        raise UsageError(f"samples crowd: --height must be 48..1024 pixels (got {height_px})")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    key = _key(height_px, people)
    if not force:
        done = _complete(out, key)
        if done is not None:
            log.info("samples crowd: reusing the library in %s", out)
            return done
        cache = user_cache_root()
        if cache is not None:
            cached = cache / f"extras-v{LIBRARY_VERSION}-{height_px}-{len(people)}-{key['design']}"
            try:
                lib = _complete(cached, key) or _write_library(cached, key, height_px, people)
                return _copy_library(lib, out, key)
            except OSError as exc:  # an unwritable cache only costs time
                log.info("samples crowd: cache %s unusable (%s); building in place", cached, exc)
    return _write_library(out, key, height_px, people)


def _copy_library(lib: ExtrasLibrary, out: Path, key: dict[str, Any]) -> ExtrasLibrary:
    if lib.root == out:
        return lib
    (out / "library.json").unlink(missing_ok=True)
    for src in sorted(lib.root.iterdir()):
        if src.name != "library.json" and src.is_file():
            shutil.copyfile(src, out / src.name)
    write_json_atomic(out / "library.json", _library_json(out, key, lib.people))
    done = _complete(out, key)
    assert done is not None
    return done


def _library_json(root: Path, key: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {"genpost_library": 1, "build": key, "sources": [f"{n}.####.exr" for n in names],
            "note": "synthetic people generated by genpost (no real person is depicted)"}


def _write_library(out: Path, key: dict[str, Any], height_px: int, people: Sequence[Person]) -> ExtrasLibrary:
    from ..imageio import exr
    from .figure import frame_size, render_views

    out.mkdir(parents=True, exist_ok=True)
    (out / "library.json").unlink(missing_ok=True)  # the marker goes last
    width, height, ppm = frame_size(height_px)
    started = time.perf_counter()
    kinds = {c: "colour" for c in "RGBA"} | {VARIATION_CHANNEL: "mask", VARIATION_LOWER_CHANNEL: "mask"}
    types = {VARIATION_CHANNEL: "half", VARIATION_LOWER_CHANNEL: "half"}
    channels = ("R", "G", "B", "A", VARIATION_CHANNEL, VARIATION_LOWER_CHANNEL)

    def write(path: Path, frame: np.ndarray, meta: dict[str, Any]) -> None:
        exr.write_exr(path, {c: frame[..., k] for k, c in enumerate(channels)}, kinds=kinds, types=types,
                      metadata=meta, colourspace="ACEScg", compression="rle")

    def render(person: Person) -> list[tuple[str, int, float, np.ndarray, list[list[float]]]]:
        """Every clip of a person: (kind, view, fps, frames (n, H, W, 6), feet per frame)."""
        out = []
        for kind, view, n, fps in _frame_plan(person):
            poses = [pose(person, kind, k / n) for k in range(n)]
            feet = [[round(float(j["ball_l"][0]), 5), round(float(j["ball_l"][2]), 5), float(planted["l"]),
                     round(float(j["ball_r"][0]), 5), round(float(j["ball_r"][2]), 5), float(planted["r"])]
                    for j, planted in poses]
            out.append((kind, view, fps, render_views(person, [j for j, _ in poses], view, height_px), feet))
        return out

    # People render on two threads (numpy releases the GIL in its loops); frames are written on two more.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="genpost-extras") as pool, \
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="genpost-extras-render") as renderers:
        pending = []
        for person, rendered in zip(people, renderers.map(render, people)):
            clips = []
            number = 1
            for kind, view, fps, frames, feet in rendered:
                n = len(frames)
                meta = {"sample": "extras", "person": person.name, "clip": kind, "view": view, "synthetic": True}
                for k in range(n):
                    pending.append(pool.submit(write, out / f"{person.name}.{number + k:04d}.exr", frames[k], meta))
                clip: dict[str, Any] = {"kind": kind, "view": view, "frames": [number, number + n - 1], "fps": fps}
                if kind == "walk":
                    clip["speed"] = round(person.walk_speed(fps), 6)
                    clip["feet"] = feet
                clips.append(clip)
                number += n
            element = {
                "genpost_element": 1,
                "person": person.name,
                "synthetic": True,
                "height_m": person.height,
                "person_px": round(person.height * ppm, 4),
                "pixels_per_metre": round(ppm, 4),
                "frame_size": [width, height],
                "anchor": [(width - 1) / 2.0, height - 0.5],
                "axes": "clip views: degrees from the person's facing towards their left (0 = facing the camera); "
                        "feet: ball of each foot in metres, x to the person's left, z forwards, and planted 0/1",
                "channels": {VARIATION_CHANNEL: "premultiplied coverage of clothing that may be recoloured",
                             VARIATION_LOWER_CHANNEL: "the part of it below the waist (recoloured on its own)"},
                "clips": clips,
            }
            write_json_atomic(out / f"{person.name}{ELEMENT_SUFFIX}", element)
            write_consent_record(
                str(out / f"{person.name}.####.exr"),
                who=f"nobody: '{person.name}' is a synthetic person generated procedurally by genpost "
                    "(no real person is depicted or was recorded)",
                permitted_use="any, including replication, recolouring and modification in crowds",
                expires="2099-12-31",
                reference=CONSENT_REFERENCE.format(version=LIBRARY_VERSION, name=person.name),
                extra={"synthetic": True, "person": person.name,
                       "note": "generated by genpost samples crowd; not a likeness of any real person"},
            )
        for fut in pending:
            fut.result()
    names = [p.name for p in people]
    write_json_atomic(out / "library.json", _library_json(out, key, names))
    log.info("samples crowd: %d people written to %s in %.1f s", len(people), out, time.perf_counter() - started)
    done = _complete(out, key)
    assert done is not None
    return done


def build_extras(out_dir: str | os.PathLike[str], *, frames: int = 24, height: int = 160, palette: int = 0, first_frame: int = 1) -> str:
    """A single plain element (no clips sidecar, no variation channel): one library person
    walking in place, facing the camera. Writes ``extras.####.exr`` (RGBA) and
    ``extras.consent.json``; returns the pattern."""
    from ..imageio import exr
    from .figure import render_views

    out = Path(out_dir)
    person = PEOPLE[palette % len(PEOPLE)]
    poses = [pose(person, "walk", i / frames)[0] for i in range(frames)]
    rgba = render_views(person, poses, 0.0, height)[..., :4]
    pattern = str(out / "extras.####.exr")
    for i in range(frames):
        path = out / f"extras.{first_frame + i:04d}.exr"
        exr.write_exr(path, {c: rgba[i, ..., k] for k, c in enumerate("RGBA")}, kinds={c: "colour" for c in "RGBA"},
                      colourspace="ACEScg", compression="rle")
    write_consent_record(
        pattern,
        who="nobody: a procedural figure generated by genpost (no real person is depicted)",
        permitted_use="any, including replication in crowds",
        expires="2099-12-31",
        reference="GENPOST-SYNTHETIC-0001",
    )
    return pattern


__all__ = ["ExtrasLibrary", "build_extras_library", "build_extras", "LIBRARY_VERSION"]
