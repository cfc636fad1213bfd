"""Set extension's canvas finish (jobs.set_extension.canvas): what a frame's blend may move.

Compared with the truth the canvas was filled from: content carried from keyframes (the same in
every frame) is not pulled by this frame's own generated pixels, and nothing is gain-matched or
blended to a kept object standing in front of the extension.
"""

from __future__ import annotations

import numpy as np

from genpost_houdini.conditioning.morphology import erode
from genpost_houdini.jobs.set_extension.canvas import KEYFRAME_LABEL, Canvas
from genpost_houdini.jobs.set_extension.params import SOURCE_KEYFRAME

H, W = 80, 120


def _truth() -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.dstack([0.3 + 0.002 * x, 0.25 + 0.001 * y, 0.2 + 0.0005 * (x + y)]).astype(np.float32)


def _work() -> np.ndarray:
    work = np.zeros((H, W), bool)
    work[10:60, 20:100] = True
    return work


def _keyed_canvas_with_a_bad_hole() -> tuple[Canvas, np.ndarray, np.ndarray, np.ndarray]:
    truth, work = _truth(), _work()
    c = Canvas.start(truth, np.ones((H, W), bool), work, np.full((H, W), 10.0, np.float32))
    hole = np.zeros((H, W), bool)
    hole[30:40, 50:60] = True
    keyed = work & ~hole
    c.put(keyed, truth, np.ones((H, W), bool), label=KEYFRAME_LABEL + 1001, plate=np.zeros((H, W), np.float32), other=SOURCE_KEYFRAME)
    c.put_generated(hole, (truth + 0.3)[hole])  # this frame's generated pixels, far off
    return c, truth, keyed, hole


def test_keyframe_content_is_not_pulled_by_the_frames_own_generated_pixels() -> None:
    c, truth, keyed, hole = _keyed_canvas_with_a_bad_hole()
    c.blend(generated_last=True)
    assert np.abs(c.image - truth)[keyed].max() < 2e-3  # carried content as carried
    rim = hole & ~erode(hole, 1)
    assert np.abs(c.image - truth)[rim].mean() < 0.05  # the hole meets it at its edge (was 0.3 off)

    c, truth, keyed, hole = _keyed_canvas_with_a_bad_hole()
    c.blend()  # one solve: the hole's offset spreads into the carried content around it
    assert np.abs(c.image - truth)[keyed].max() > 0.02


def test_a_kept_post_in_front_neither_tints_nor_blends_the_wall_behind() -> None:
    truth, work = _truth(), _work()
    depth = np.full((H, W), 20.0, np.float32)
    post = np.zeros((H, W), bool)
    post[50:, 55:61] = True  # a dark post at 5 m, kept plate, through the work region's edge
    depth[post] = 5.0
    plate = truth.copy()
    plate[post] = 0.03
    work &= ~post
    sampled = truth.copy()  # the source saw the wall where this frame has the post
    for d, expect_clean in ((depth, True), (None, False)):
        c = Canvas.start(plate, np.ones((H, W), bool), work, d)
        c.put(work, sampled, np.ones((H, W), bool), label=1003, plate=np.ones((H, W), np.float32), other=SOURCE_KEYFRAME)
        c.blend(kept=~work, fade=6)
        err = float(np.abs(c.image - truth)[work].mean())
        if expect_clean:
            assert err < 5e-3, err
        else:
            assert err > 0.01, err  # without depth the post darkens the wall around it
