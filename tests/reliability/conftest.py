"""Fixtures for the reliability tests: a tiny bundled shot, the real `genpost` executable, and
real failing filesystems (tmpfs mounts in a user namespace, when this machine allows them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

GENPOST = str(Path(sys.executable).with_name("genpost"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # reliability_helpers


def _genpost(*args: str, timeout: float = 300, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GENPOST, *args], capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="session")
def genpost() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``genpost(*args)`` runs the installed command line in a child process."""
    return _genpost


@pytest.fixture(scope="session")
def tiny_shot(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The bundled street shot at 96x64, 8 frames (1001-1008), built once."""
    root = tmp_path_factory.mktemp("reliability_shot")
    proc = _genpost("samples", "street", str(root / "shot"), "--frames", "8", "--resolution", "96", "64")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    info["root"] = str(root)
    return info


@pytest.fixture(scope="session")
def setext_args(tiny_shot: dict) -> Callable[..., list[str]]:
    """``setext_args(out, "--frames", "1001-1004", ...)``: a `genpost setext` argv on the tiny shot."""

    def make(out: str | os.PathLike[str], *extra: str) -> list[str]:
        args = ["setext", "--stage", tiny_shot["stage"], "--camera", tiny_shot["camera"],
                "--plate", tiny_shot["plate"], "--depth", tiny_shot["depth"], "--extend", tiny_shot["extend"],
                "--out", os.fspath(out), "--max-keyframes", "2", "--progress", "none"]
        if "--frames" not in extra:
            args += ["--frames", "1001-1004"]
        return args + list(extra)

    return make


@pytest.fixture(scope="session")
def mount_namespace(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[str]]:
    """``wrap(script)`` -> argv running the shell ``script`` in a private user and mount namespace
    (``unshare -rm``), where it may mount a tmpfs. Skips when the machine does not allow it."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = tmp_path_factory.mktemp("mountprobe")
    ok = subprocess.run([unshare, "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {probe}"],
                        capture_output=True, timeout=30)
    if ok.returncode != 0:
        pytest.skip(f"user-namespace tmpfs mounts are not allowed here: {ok.stderr.decode(errors='replace').strip()}")
    return lambda script: [unshare, "-rm", "sh", "-c", script]
