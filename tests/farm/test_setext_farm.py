"""The farm layer on the real set-extension job and the bundled shot (tiny: 4 frames, 96x64).

`genpost setext --save-job` -> `genpost run` (single run = reference); `openjd run` of the bundle
in two chunks; SIGKILL in the middle of a chunk then rerun; bad inputs fail fast with exit 3.
Outputs are compared byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import read_outputs

from genpost_houdini.atomic import is_temporary
from genpost_houdini.farm.openjd import openjd_params, write_bundle

GENPOST = str(Path(sys.executable).with_name("genpost"))
OPENJD = str(Path(sys.executable).with_name("openjd"))
FRAMES = "1001-1004"
NAMES = [f"setext.{f}.exr" for f in range(1001, 1005)]


def _header_diff(a: bytes, b: bytes, tmp: Path) -> list[str]:
    """Names of EXR header attributes that differ (a diagnostic for byte mismatches)."""
    import OpenImageIO as oiio

    attrs = []
    for i, data in enumerate((a, b)):
        path = tmp / f"_cmp{i}.exr"
        path.write_bytes(data)
        inp = oiio.ImageInput.open(str(path))
        attrs.append({p.name: p.value for p in inp.spec().extra_attribs})
        inp.close()
    return sorted(k for k in set(attrs[0]) | set(attrs[1]) if attrs[0].get(k) != attrs[1].get(k))


def assert_same_outputs(got: dict[str, bytes], expected: dict[str, bytes], tmp: Path) -> None:
    assert sorted(got) == sorted(expected)
    for name in expected:
        if got[name] != expected[name]:
            pytest.fail(f"{name} differs from the single local run; header attributes differing: "
                        f"{_header_diff(got[name], expected[name], tmp)}")


def _genpost(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GENPOST, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("setext_farm")
    proc = _genpost("samples", "street", str(root / "shot"), "--frames", "4", "--resolution", "96", "64")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    info["root"] = root
    return info


def _save_job(shot: dict, name: str, shot_dir: Path | None = None) -> Path:
    src = Path(shot_dir) if shot_dir else Path(shot["plate"]).parent
    job = shot["root"] / f"{name}.json"
    proc = _genpost(
        "setext", "--stage", shot["stage"], "--camera", shot["camera"],
        "--plate", str(src / "plate.####.exr"), "--depth", str(src / "depth.####.exr"),
        "--extend", str(src / "extend.####.exr"), "--frames", FRAMES,
        "--out", str(shot["root"] / name), "--max-keyframes", "2", "--save-job", str(job),
    )
    assert proc.returncode == 0, proc.stderr
    assert not (shot["root"] / name).exists(), "--save-job runs nothing"
    return job


@pytest.fixture(scope="module")
def reference(shot: dict) -> dict[str, bytes]:
    job = _save_job(shot, "ref")
    proc = _genpost("run", str(job), "--progress", "none")
    assert proc.returncode == 0, proc.stderr
    out = read_outputs(shot["root"] / "ref")
    assert sorted(out) == NAMES
    return out


def test_openjd_two_chunks_identical_to_single_run(shot: dict, reference: dict[str, bytes]) -> None:
    job = _save_job(shot, "farm")
    bundle = write_bundle(job, shot["root"] / "bundle", chunk_size=2)
    (bundle / "values.json").write_text(json.dumps(openjd_params(bundle)))
    proc = subprocess.run(
        [OPENJD, "run", str(bundle / "template.yaml"), "--step", "setext",
         "-p", f"file://{bundle / 'values.json'}", "-p", f"Genpost={GENPOST}"],
        capture_output=True, text=True, timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "Frame(CHUNK[INT]) = 1001-1002" in log and "Frame(CHUNK[INT]) = 1003-1004" in log
    assert "openjd_progress:" in log
    assert_same_outputs(read_outputs(shot["root"] / "farm"), reference, shot["root"])


def test_uneven_out_of_order_chunks_identical(shot: dict, reference: dict[str, bytes]) -> None:
    job = _save_job(shot, "chunked")
    for chunk in ("1004", "1001-1003"):
        proc = _genpost("run", str(job), "--frames", chunk, "--progress", "none")
        assert proc.returncode == 0, proc.stderr
    assert_same_outputs(read_outputs(shot["root"] / "chunked"), reference, shot["root"])


def test_sigkill_mid_chunk_then_rerun(shot: dict, reference: dict[str, bytes]) -> None:
    job = _save_job(shot, "killed")
    out = shot["root"] / "killed"
    proc = subprocess.Popen([GENPOST, "run", str(job), "--progress", "none"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        seen: dict[str, bytes] = {}
        while time.monotonic() < deadline and proc.poll() is None:
            for name in NAMES:
                if name not in seen and (out / name).exists():
                    seen[name] = (out / name).read_bytes()
            if seen:
                break
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(60)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert len([n for n in NAMES if (out / n).exists()]) < len(NAMES)
    rerun = _genpost("run", str(job), "--progress", "none")
    assert rerun.returncode == 0, rerun.stderr
    final = read_outputs(out)
    for name, data in seen.items():  # what was visible before the kill was complete, and kept
        assert final[name] == data, f"{name} was visible before it was complete, or was redone"
    assert_same_outputs(final, reference, shot["root"])
    assert not [p for p in out.rglob("*") if is_temporary(p.name)]


def test_bad_inputs_fail_fast_with_exit_3(shot: dict) -> None:
    broken = shot["root"] / "broken_shot"
    shutil.copytree(Path(shot["plate"]).parent, broken)
    (broken / "extend.1003.exr").unlink()
    job = _save_job(shot, "broken", broken)
    proc = _genpost("run", str(job), "--frames", "1001-1004", "--progress", "none")
    assert proc.returncode == 3 and "extend.1003.exr" in proc.stderr, proc.stderr
    (broken / "extend.1003.exr").write_bytes((broken / "extend.1002.exr").read_bytes())
    depth = broken / "depth.1002.exr"
    depth.write_bytes(depth.read_bytes()[: os.path.getsize(depth) // 3])  # truncated
    proc = _genpost("run", str(job), "--progress", "none")
    assert proc.returncode == 3, proc.stderr
    assert "depth.1002.exr" in proc.stderr
    assert not list((shot["root"] / "broken").glob("setext.*.exr"))
