"""One video-window planner: the job's hole windows are the generator's own windows, laid from the
shot's first frame (passed in the request), chained by anchor frames, identical in any chunking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.generators.base import GenerationRequest, enforce_result
from genpost_houdini.generators.registry import register_generator, unregister_generator
from genpost_houdini.generators.windows import DEFAULT_OVERLAP, DEFAULT_WINDOW, generator_window, window_producing
from genpost_houdini.imageio import exr
from genpost_houdini.jobs.set_extension import run_job
from genpost_houdini.runtime.worker import WorkerGenerator
from genpost_houdini.samples.street import build_street

LENGTH, OVERLAP = 5, 1


class VideoPlugin:
    """A temporal generator plugin (the public plugin contract): each generated pixel is the mean
    of the window's known pixels times a per-frame factor, so a wrong window or anchor shows."""

    temporal = True
    window = LENGTH
    overlap = OVERLAP
    requests: list[GenerationRequest] = []

    def __init__(self, **options: object) -> None:
        self.name = "test-video"

    def provenance(self) -> dict[str, str]:
        return {"model_id": "test-video", "weights_hash": "", "licence": "test"}

    def generate(self, request: GenerationRequest, progress: object = None) -> np.ndarray:
        VideoPlugin.requests.append(request)
        mean = request.images[request.known].mean(axis=0)
        out = request.images.copy()
        for i, f in enumerate(request.frames):
            out[i][request.generate[i]] = mean * (1.0 + 0.01 * (f % 7))
        return enforce_result(request, out, generator=self.name)


def test_window_producing_is_the_first_window_holding_a_frame() -> None:
    # length 5, overlap 1 from frame 1: windows 1-5, 5-9, 9-13; frame 5 is final in the first.
    grid = dict(length=5, overlap=1, origin=1)
    assert [window_producing(f, **grid).start for f in (1, 4, 5, 6, 9, 10, 13)] == [1, 1, 1, 5, 5, 9, 9]
    assert window_producing(6, **grid).anchors == (5,)
    assert generator_window(object()) == (DEFAULT_WINDOW, DEFAULT_OVERLAP)
    assert generator_window(VideoPlugin()) == (LENGTH, OVERLAP)


def test_worker_proxy_states_the_local_window() -> None:
    proxy = WorkerGenerator(VideoPlugin(), "test-video", {}, "/nonexistent.sock")
    assert (proxy.temporal, proxy.window, proxy.overlap) == (True, LENGTH, OVERLAP)


@pytest.fixture()
def plugin() -> type[VideoPlugin]:
    VideoPlugin.requests = []
    register_generator("test-video", VideoPlugin, replace=True)
    yield VideoPlugin
    unregister_generator("test-video")


def test_job_windows_start_at_the_shot_and_chunks_agree(plugin: type[VideoPlugin], tmp_path: Path) -> None:
    shot = build_street(tmp_path / "shot", frames=9, width=64, height=36, first_frame=1).to_json()
    params = {k: shot[k] for k in ("stage", "camera", "plate", "depth", "extend")} | {
        "frames": "1-9", "generator": "test-video", "seed": 2, "max_keyframes": 0}
    run_job(params, list(range(1, 10)), out_dir=tmp_path / "whole")
    windows = [r.frames for r in plugin.requests]
    assert windows == [[1, 2, 3, 4, 5], [5, 6, 7, 8, 9]], "one request per generator window, from frame 1"
    assert all(r.shot_first == 1 for r in plugin.requests)
    second = plugin.requests[1]
    assert second.known[0].all() and not second.generate[0].any(), "the anchor frame is final"
    whole5 = exr.read_rgb(tmp_path / "whole" / "setext.0005.exr")
    # published colour is half float: equal to the anchor within half's rounding (2**-11 relative)
    assert np.allclose(second.images[0], whole5, rtol=2**-10, atol=1e-6), "the anchor carries frame 5's final pixels"

    plugin.requests.clear()
    for chunk in ([7, 8, 9], [1, 2, 3], [4, 5, 6]):  # the farm may run chunks in any order
        run_job(params, chunk, out_dir=tmp_path / "chunks")
    for f in range(1, 10):
        a = exr.read_exr(tmp_path / "whole" / f"setext.{f:04d}.exr").get(["R", "G", "B", "source"])
        b = exr.read_exr(tmp_path / "chunks" / f"setext.{f:04d}.exr").get(["R", "G", "B", "source"])
        assert np.array_equal(a, b), f"frame {f} differs between the whole-shot run and the chunks"
    assert sorted(r.frames for r in plugin.requests) == windows, "each window generated once"
