"""`genpost worker`: start on demand, generate, cancel, kill, restart, shutdown (CPU only)."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.errors import TransientError, UsageError
from genpost_houdini.generators.base import GenerationRequest
from genpost_houdini.runtime.worker import JobCancelled, WorkerClient, load_request, save_request

# A slow generator the worker imports with --preload: it records each step in a file, so the
# test can see the job stop after a cancel.
SLOW_PLUGIN = '''
import time
from pathlib import Path
from genpost_houdini.generators.registry import register_generator


class SlowGenerator:
    name = "test-slow"
    temporal = False

    def __init__(self, steps_file="", steps=200):
        self.steps_file = Path(steps_file)
        self.steps = int(steps)

    def provenance(self):
        return {"model_id": "test-slow", "weights_hash": "", "licence": "n/a"}

    def generate(self, request, progress=None):
        for i in range(self.steps):
            with open(self.steps_file, "a") as fh:
                fh.write(f"{i}\\n")
            if progress is not None:
                progress(i / self.steps, f"step {i}")
            time.sleep(0.02)
        return request.images


register_generator("test-slow", SlowGenerator)
'''


@pytest.fixture
def worker_env():
    # Unix socket paths are limited to ~100 bytes: use a short folder, not pytest's tmp_path
    folder = Path(tempfile.mkdtemp(prefix="gpw-"))
    (folder / "gp_slow_plugin.py").write_text(SLOW_PLUGIN)
    client = WorkerClient(folder / "w.sock", start_timeout=120,
                          worker_args=["--preload", "gp_slow_plugin", "--idle-timeout", "300"],
                          env={"PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])})
    yield folder, client
    client.shutdown()
    if client.process is not None:
        try:
            client.process.wait(10)
        except Exception:
            client.process.kill()
    shutil.rmtree(folder, ignore_errors=True)


def _request():
    f, h, w = 1, 16, 16
    images = np.random.default_rng(0).random((f, h, w, 3)).astype(np.float32)
    generate = np.zeros((f, h, w), bool)
    generate[:, 4:9, 5:11] = True
    return GenerationRequest(frames=[1001], images=images, known=~generate, generate=generate,
                             depth=np.full((f, h, w), 0.5, np.float32), seed=3, prompt="wall", options={"q": 1})


def test_request_file_round_trip(tmp_path):
    req = _request()
    back = load_request(save_request(req, tmp_path / "r.npz"))
    assert back.frames == req.frames and back.prompt == "wall" and back.options == {"q": 1}
    assert np.array_equal(back.images, req.images) and np.array_equal(back.generate, req.generate)


def test_worker_lifecycle(worker_env):
    folder, client = worker_env
    assert client.ping() is None
    # the first request starts a worker
    progress = []
    out = client.generate(_request(), "classical", {"quality": "draft"}, progress=lambda f, m: progress.append(f))
    req = _request()
    assert out.shape == req.images.shape and np.isfinite(out).all()
    assert np.array_equal(out[req.known], req.images[req.known])  # known pixels untouched
    assert progress and progress[-1] == 1.0
    status = client.ping()
    first_pid = status["pid"]
    assert any("classical" in k for k in status["loaded"])  # the generator stays loaded
    assert oct((folder).stat().st_mode & 0o777) == "0o700"

    # a second client (another Houdini session) shares the same worker and model
    other = WorkerClient(client.socket_path, autostart=False)
    again = other.generate(_request(), "classical", {"quality": "draft"})
    assert again.shape == out.shape and other.ping()["pid"] == first_pid and len(other.ping()["loaded"]) == 1

    # cancel: the client sets its flag after a few steps; the worker stops between steps
    steps_file = folder / "steps.txt"
    cancel = threading.Event()

    def on_progress(fraction, message):
        if fraction >= 0.05:
            cancel.set()

    with pytest.raises(JobCancelled):
        client.generate(_request(), "test-slow", {"steps_file": str(steps_file)}, progress=on_progress, cancel=cancel)
    time.sleep(1.0)
    n = len(steps_file.read_text().split())
    time.sleep(0.5)
    assert len(steps_file.read_text().split()) == n < 200  # stopped, not running on in the background
    assert client.ping()["pid"] == first_pid and client.ping()["busy"] == 0

    # an unknown generator is an error with the worker's exit code, and the worker survives
    with pytest.raises(UsageError, match="unknown generator"):
        client.generate(_request(), "no-such-generator")

    # killing the worker mid-job: the client gets a transient error ...
    def kill_worker(fraction, message):
        os.kill(first_pid, signal.SIGKILL)

    steps_file.unlink()
    with pytest.raises(TransientError, match="died"):
        client.generate(_request(), "test-slow", {"steps_file": str(steps_file)}, progress=kill_worker)
    deadline = time.time() + 10
    while client.ping(timeout=0.5) is not None and time.time() < deadline:
        time.sleep(0.1)
    assert client.ping() is None

    # ... and the next request starts a fresh worker
    out2 = client.generate(_request(), "classical", {"quality": "draft"})
    assert out2.shape == out.shape and np.array_equal(out2[req.known], req.images[req.known])
    assert client.ping()["pid"] != first_pid
    assert client.release() >= 1 and client.ping()["loaded"] == []
    assert client.shutdown()
    client.process.wait(20)
    assert client.ping() is None and not client.socket_path.exists()


def test_second_worker_on_same_socket_refuses(worker_env):
    folder, client = worker_env
    client.ensure_running()
    from genpost_houdini.runtime.worker import serve

    with pytest.raises(TransientError, match="already serves"):
        serve(client.socket_path)
    assert client.ping() is not None
