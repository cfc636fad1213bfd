"""Outputs against checked-in references (OpenImageIO testsuite habit): a small set extension and
a small crowd replication on the bundled street shot (scripts/make_references.py: 96x54, frames
1001-1004, classical generator, fixed seeds) compared with tests/references/{setext,crowd}/.

Tolerance: colour channels (R, G, B, A, stored as half) within 2e-3 on at least 99 % of the
pixels of each frame, mean difference below 1e-3 (a different BLAS may move a few generated
pixels); codes and ids (source, matte, crowd_id) equal on at least 99 % of pixels; Z equal within
1e-6 relative (float32, carried or rendered depth); the summaries' frame lists equal and their
numbers within 1e-6 relative.

When an output changes on purpose, regenerate with ``make references`` and commit the new files
with the change (docs/internals.md, "References").
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.imageio import exr

HERE = Path(__file__).resolve().parent
SCRIPT = HERE.parents[1] / "scripts" / "make_references.py"
COLOUR = {"R", "G", "B", "A"}
CODES = {"source", "matte", "crowd_id"}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    spec = importlib.util.spec_from_file_location("make_references", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(tmp_path_factory.mktemp("refs"))


def _compare_exr(ref: Path, new: Path) -> None:
    a, b = exr.read_exr(ref), exr.read_exr(new)
    assert a.channels == b.channels, f"{new.name}: channels {b.channels} != reference {a.channels}"
    for name in a.channels:
        x, y = a.channel(name), b.channel(name)
        where = f"{new.name} channel {name}"
        if name in COLOUR:
            diff = np.abs(x - y)
            assert (diff <= 2e-3).mean() >= 0.99 and diff.mean() < 1e-3, (
                f"{where}: {100 * (diff > 2e-3).mean():.2f}% of pixels differ by > 2e-3 (max {diff.max():.3g}, "
                f"mean {diff.mean():.3g}); if intended, run `make references`")
        elif name in CODES:
            assert (x == y).mean() >= 0.99, f"{where}: {100 * (x != y).mean():.2f}% of pixels differ"
        else:
            finite = np.isfinite(x)
            assert np.array_equal(finite, np.isfinite(y)), f"{where}: no-hit pixels differ"
            np.testing.assert_allclose(y[finite], x[finite], rtol=1e-6, err_msg=where)


def _compare_summary(ref: dict, new: dict) -> None:
    assert set(ref) == set(new)
    for key, value in ref.items():
        if isinstance(value, float):
            assert new[key] == pytest.approx(value, rel=1e-6), key
        else:
            assert new[key] == value, key


@pytest.mark.parametrize("job", ["setext", "crowd"])
def test_outputs_match_the_references(job: str, fresh: dict[str, Path]) -> None:
    ref_dir = HERE / job
    refs = sorted(ref_dir.glob(f"{job}.*.exr"))
    assert len(refs) == 4, f"references missing in {ref_dir}: run `make references`"
    assert sorted(p.name for p in fresh[job].glob(f"{job}.*.exr")) == [p.name for p in refs]
    for ref in refs:
        _compare_exr(ref, fresh[job] / ref.name)
    _compare_summary(json.loads((ref_dir / "summary.json").read_text()),
                     json.loads((fresh[job] / "summary.json").read_text()))


def test_the_comparison_can_fail(fresh: dict[str, Path], tmp_path: Path) -> None:
    """A visible change to the output (a 2 % brighter extension) fails the colour tolerance."""
    ref = HERE / "setext" / "setext.1002.exr"
    img = exr.read_exr(ref)
    channels = {n: img.channel(n).copy() for n in img.channels}
    mask = channels["matte"] > 0.5
    for c in "RGB":
        channels[c][mask] *= 1.02
    changed = tmp_path / "setext.1002.exr"
    exr.write_exr(changed, channels, kinds={c: "colour" for c in "RGBA"} | {"Z": "depth"},
                  types={"source": "half", "matte": "half", "confidence": "half"})
    with pytest.raises(AssertionError, match="differ by > 2e-3"):
        _compare_exr(ref, changed)
