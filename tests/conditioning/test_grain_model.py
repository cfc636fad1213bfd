"""Grain: measured against synthetic grain of known statistics; degrain and regrain."""

from __future__ import annotations

import numpy as np

from genpost_houdini.conditioning.grain import (
    NO_GRAIN, GrainModel, degrain, gauss_blur, grain_noise, measure_grain, regrain,
)
from genpost_houdini.qc.plates import hf_energy_sums

H, W = 160, 200
SIGMA_SLOPE = (0.04, 0.03, 0.05)  # grain sigma = slope[c] * value + 0.003


def _scene() -> np.ndarray:
    """A smooth ramp (values 0.1..0.8) with a few sharp vertical edges."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    base = 0.1 + 0.7 * x / W
    base = base + 0.15 * ((x // 40) % 2 == 1)
    return np.dstack([base, 0.9 * base, 1.05 * base]).astype(np.float32)


def _grainy(scene: np.ndarray, seed: int, blur: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = gauss_blur(rng.standard_normal(scene.shape).astype(np.float32), blur)
    n /= n.std()
    sigma = np.asarray(SIGMA_SLOPE, np.float32) * scene + 0.003
    return (scene + sigma * n).astype(np.float32)


def test_measures_sigma_per_channel_and_correlation() -> None:
    scene = _scene()
    trusted = np.ones((H, W), bool)
    model = measure_grain([(_grainy(scene, s, 0.6), trusted) for s in range(3)])
    assert model.present
    assert 0.3 <= model.blur <= 0.9
    for value in (0.3, 0.6):
        got = model.sigma_at(np.full((1, 1, 3), value, np.float32))[0, 0]
        want = np.asarray(SIGMA_SLOPE) * value + 0.003
        assert np.all(np.abs(got - want) < 0.25 * want), (value, got, want)
    assert GrainModel.from_json(model.to_json()) == model


def test_clean_image_has_no_grain() -> None:
    assert measure_grain([(_scene(), np.ones((H, W), bool))]) == NO_GRAIN
    assert measure_grain([]) == NO_GRAIN
    assert NO_GRAIN.sigma_at(np.ones((2, 2, 3), np.float32)).max() == 0


def test_degrain_removes_grain_and_keeps_edges() -> None:
    scene = _scene()
    grainy = _grainy(scene, 7, 0.6)
    model = measure_grain([(grainy, np.ones((H, W), bool))])
    clean = degrain(grainy, model)
    assert np.abs(clean - scene).mean() < 0.45 * np.abs(grainy - scene).mean()
    # an edge of 0.15 keeps most of its contrast (column 40 is the first step)
    step = clean[20:140, 42:46].mean() - clean[20:140, 34:38].mean()
    assert step > 0.12 - 0.7 * 4 / W
    assert np.array_equal(degrain(grainy, NO_GRAIN), grainy)


def test_regrain_matches_the_plates_grain_and_is_seeded() -> None:
    scene = _scene()
    grainy = _grainy(scene, 3, 0.6)
    model = measure_grain([(grainy, np.ones((H, W), bool))])
    a = regrain(scene, model, seed=11)
    assert np.array_equal(a, regrain(scene, model, seed=11))
    assert not np.array_equal(a, regrain(scene, model, seed=12))
    region = np.zeros((H, W), bool)
    region[8:-8, 8:-8] = True
    got, _ = hf_energy_sums(a, region)
    want, _ = hf_energy_sums(grainy, region)
    assert 0.75 < got / want < 1.3
    only = np.zeros((H, W), bool)
    only[:10] = True
    part = regrain(scene, model, seed=11, where=only)
    assert np.array_equal(part[10:], scene[10:]) and np.array_equal(part[:10], a[:10])


def test_grain_noise_has_unit_variance() -> None:
    for blur in (0.0, 0.6, 1.1):
        n = grain_noise((256, 256), 5, blur)
        assert abs(float(n[8:-8, 8:-8].std()) - 1.0) < 0.06
