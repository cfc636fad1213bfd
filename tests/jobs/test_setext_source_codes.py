"""The ``source`` channel's rule (issue 13 item 10): 1 ("another frame's plate") only when at
least 0.99 of the pixel's weight comes from other frames' plate pixels; otherwise its true class.

A keyframe carries, per pixel, its code and its other-frame plate weight. Reprojected into
another frame, the code must never be interpolated with RGB and rounded: only the weight decides.
The keyframes below are uniform fields, so their reprojection is known exactly (a constant stays
that constant under any interpolation), whatever the camera move.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.jobs.set_extension import SOURCE_GENERATED, SOURCE_KEYFRAME, SOURCE_OTHER_FRAME, SOURCE_PLATE
from genpost_houdini.jobs.set_extension.canvas import KEYFRAME_LABEL, output_source
from genpost_houdini.jobs.set_extension.params import SetExtensionParams
from genpost_houdini.jobs.set_extension.render import SetExtension
from genpost_houdini.samples.street import build_street


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> SetExtension:
    root = tmp_path_factory.mktemp("codes")
    info = build_street(root / "shot", frames=4, width=96, height=54).to_json()
    params = SetExtensionParams.from_mapping({
        "stage": info["stage"], "camera": info["camera"], "plate": info["plate"], "depth": info["depth"],
        "extend": info["extend"], "frames": "1001-1004"})
    return SetExtension(params, root / "out")


@pytest.mark.parametrize(("code", "weight", "expected"), [
    (SOURCE_OTHER_FRAME, 0.9, SOURCE_KEYFRAME),   # code says plate, only 90 % is: a keyframe pixel
    (SOURCE_GENERATED, 0.995, SOURCE_OTHER_FRAME),  # code says generated, 99.5 % is plate
    (SOURCE_OTHER_FRAME, 0.0, SOURCE_KEYFRAME),
    (1.5, 0.5, SOURCE_KEYFRAME),                   # an interpolated code rounds to 2 or 1: never read
])
def test_reprojected_keyframe_pixels_take_their_class_from_the_weight(job: SetExtension, code: float, weight: float, expected: int) -> None:
    filler = job.filler
    k, t = 1001, 1003
    shape = job.shot.read("depth", k).shape
    stack = np.zeros((*shape, 5), np.float32)
    stack[..., :3] = 0.25
    stack[..., 3] = code
    stack[..., 4] = weight
    filler._keyframes[k] = stack  # the keyframe cache holds exactly this keyframe
    c = filler.canvas(t)
    todo = c.missing.copy()
    filler.fill_from_keyframes(t, job.shot.read("depth", t), c, [k])
    filled = todo & (c.label == KEYFRAME_LABEL + k)
    assert filled.sum() > 50
    assert set(np.unique(c.source[filled]).tolist()) == {expected}
    np.testing.assert_allclose(c.plate[filled], weight, atol=1e-6)
    out = output_source(np.ones(shape, np.float32), c.plate, c.other)
    assert set(np.unique(out[filled]).tolist()) == {expected}


def test_output_source_of_soft_matte_pixels() -> None:
    # matte m, the extension's other-frame plate weight p and class of the rest; the pixel's own
    # plate weighs 1 - m, other frames' plate m * p
    m = np.array([1.0, 1.0, 1.0, 0.995, 0.98, 0.6, 0.4, 0.0, 1.0], np.float32)
    p = np.array([1.0, 0.99, 0.98, 1.0, 1.0, 1.0, 0.0, 1.0, 0.3], np.float32)
    other = np.array([0, 0, 2, 0, 0, 0, 3, 0, 3], np.uint8)
    want = [SOURCE_OTHER_FRAME, SOURCE_OTHER_FRAME, SOURCE_KEYFRAME, SOURCE_OTHER_FRAME, SOURCE_PLATE, SOURCE_PLATE,
            SOURCE_PLATE, SOURCE_PLATE, SOURCE_GENERATED]
    assert output_source(m, p, other).tolist() == want
