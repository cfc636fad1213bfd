"""Colour: built-in config by default, $OCIO honoured, conversions, the invertible display view."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genpost_houdini.errors import ColourError
from genpost_houdini.imageio import colour

_TEST_CONFIG = """\
ocio_profile_version: 2
name: genpost-test-config
roles:
  default: lin
  scene_linear: lin
file_rules:
  - !<Rule> {name: Default, colorspace: lin}
displays:
  TestDisplay:
    - !<View> {name: Gamma, colorspace: g22}
colorspaces:
  - !<ColorSpace>
    name: lin
    family: test
    encoding: scene-linear
  - !<ColorSpace>
    name: g22
    family: test
    encoding: sdr-video
    from_scene_reference: !<ExponentTransform> {value: 2.2, direction: inverse}
"""


@pytest.fixture()
def builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCIO", raising=False)


def test_builtin_config_when_ocio_unset(builtin: None) -> None:
    config = colour.load_config()
    assert colour.config_source() == colour.BUILTIN_CONFIG
    assert config.getName().startswith("cg-config")
    assert colour.load_config() is config  # cached
    assert colour.SCENE_LINEAR == "ACEScg" and colour.resolve("scene_linear") == "ACEScg"
    desc = colour.describe()
    assert desc["name"] == "ACEScg" and desc["encoding"] == "scene-linear" and not desc["is_data"]
    assert (desc["display"], desc["view"]) == (colour.DISPLAY, colour.VIEW)


def test_convert_known_values(builtin: None) -> None:
    grey = np.full((2, 3, 3), 0.18, np.float32)
    srgb = colour.convert(grey, "ACEScg", "sRGB Encoded Rec.709 (sRGB)")
    np.testing.assert_allclose(srgb, 0.4613, atol=2e-3)  # 18 % grey in sRGB encoding
    assert grey[0, 0, 0] == np.float32(0.18)  # input untouched
    rgba = np.concatenate([grey, np.full((2, 3, 1), 0.3, np.float32)], axis=2)
    out = colour.convert(rgba, "ACEScg", "sRGB Encoded Rec.709 (sRGB)")
    np.testing.assert_array_equal(out[..., 3], np.float32(0.3))
    np.testing.assert_allclose(out[..., :3], srgb, atol=1e-6)


def test_threaded_conversion_matches_single_rows(builtin: None) -> None:
    rng = np.random.default_rng(5)
    img = rng.random((300, 300, 3), dtype=np.float32) * 2  # above the threading threshold
    whole = colour.convert(img, "ACEScg", "Linear Rec.709 (sRGB)")
    rows = np.stack([colour.convert(img[i], "ACEScg", "Linear Rec.709 (sRGB)") for i in range(0, 300, 37)])
    np.testing.assert_array_equal(whole[::37], rows)
    back = colour.convert(whole, "Linear Rec.709 (sRGB)", "ACEScg")
    np.testing.assert_allclose(back, img, rtol=1e-4, atol=1e-5)


def test_display_view_round_trips(builtin: None) -> None:
    rng = np.random.default_rng(7)
    display = rng.random((96, 128, 3), dtype=np.float32)
    scene = colour.from_display(display)
    assert np.isfinite(scene).all()
    np.testing.assert_allclose(colour.to_display(scene), display, atol=5e-4)
    # moderate, in-gamut scene values survive scene -> display -> scene
    rec709 = (rng.random((64, 64, 3), dtype=np.float32) * 0.8 + 0.2) * rng.random((64, 64, 1), dtype=np.float32) * 4
    plate = colour.convert(rec709, "Linear Rec.709 (sRGB)", "ACEScg")
    again = colour.from_display(colour.to_display(plate))
    np.testing.assert_allclose(again, plate, rtol=1e-3, atol=1e-4)
    # generated highlights leave through the inverse view: display white is far above 1.0
    assert colour.from_display(np.ones((1, 1, 3), np.float32)).min() > 10.0


def test_unknown_colour_space(builtin: None) -> None:
    with pytest.raises(ColourError, match=r"'Rec.999'.*valid: .*ACEScg"):
        colour.convert(np.zeros((1, 1, 3), np.float32), "Rec.999", "ACEScg")
    with pytest.raises(ColourError, match="nope"):
        colour.to_display(np.zeros((1, 1, 3), np.float32), src="nope")


def test_ocio_env_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.ocio"
    cfg.write_text(_TEST_CONFIG)
    monkeypatch.setenv("OCIO", str(cfg))
    config = colour.load_config()
    assert config.getName() == "genpost-test-config"
    x = np.full((1, 2, 3), 0.5, np.float32)
    np.testing.assert_allclose(colour.convert(x, "lin", "g22"), 0.5 ** (1 / 2.2), rtol=1e-5)
    # SCENE_LINEAR falls back to the config's scene_linear role; the view is the config's default
    np.testing.assert_allclose(colour.to_display(x), 0.5 ** (1 / 2.2), rtol=1e-5)
    assert colour.display_view() == ("TestDisplay", "Gamma")
    with pytest.raises(ColourError, match="valid: lin, g22"):
        colour.resolve("ACES2065-1")
    monkeypatch.setenv("OCIO", str(tmp_path / "missing.ocio"))
    with pytest.raises(ColourError, match="missing.ocio"):
        colour.load_config()
