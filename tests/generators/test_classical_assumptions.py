"""The classical generator states its assumptions (`genpost generators`), and they are what it does."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genpost_houdini.cli import main
from genpost_houdini.generators.facade import PRIOR_RANGE
from genpost_houdini.generators.patchmatch import sky_gradient


def test_generators_lists_the_classical_assumptions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generators", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["classical"]
    text = " ".join(info["assumptions"])
    assert f"{PRIOR_RANGE[0]:g}-{PRIOR_RANGE[1]:g} scene units" in text and "daylight-blue" in text
    assert main(["generators"]) == 0
    assert "assumes sky:" in capsys.readouterr().out


def test_the_painted_sky_is_daylight_blue_at_the_plates_exposure() -> None:
    h, w = 40, 30
    linear = np.full((h, w, 3), 0.8, np.float32)
    known = np.zeros((h, w), bool)
    known[30:] = True
    sky = ~known
    out = sky_gradient(linear, known, sky)
    top, low = out[0, 0], out[29, 0]
    assert top[2] > top[1] > top[0], "deeper blue at the top"
    assert low.min() > 0.85 * low.max() and low.mean() > top.mean(), "pale towards the horizon"
    assert 0.5 < low.mean() / 0.8 < 1.3, "at the plate's exposure"
