"""The layers lighters sublayer pass USD's own validators, alone and composed onto the shot."""

from __future__ import annotations

from pathlib import Path

import pytest

from genpost_houdini.cli import main
from genpost_houdini.samples.extras import build_extras
from genpost_houdini.samples.street import build_street


def _errors(stage) -> list[str]:
    from pxr import UsdValidation

    registry = UsdValidation.ValidationRegistry()
    validators = registry.GetOrLoadValidatorsByName([m.name for m in registry.GetAllValidatorMetadata()])
    return [f"{e.GetName()}: {e.GetMessage()}" for e in UsdValidation.ValidationContext(validators).Validate(stage)]


def test_setext_and_crowd_layers_pass_usd_validators(tmp_path: Path) -> None:
    pytest.importorskip("pxr.UsdValidation")
    from pxr import Usd

    info = build_street(tmp_path / "shot", frames=2, width=96, height=64).to_json()
    extras = build_extras(tmp_path / "extras", frames=4, height=64)
    assert main(["setext", "--stage", info["stage"], "--plate", info["plate"], "--depth", info["depth"], "--extend", info["extend"],
                 "--frames", "1001-1002", "--out", str(tmp_path / "setext"), "--progress", "none"]) == 0
    assert main(["crowd", "--stage", info["stage"], "--region", info["crowd_region"], "--source", extras, "--depth", info["depth"],
                 "--frames", "1001-1002", "--count", "6", "--out", str(tmp_path / "crowd"), "--progress", "none"]) == 0
    for layer in (tmp_path / "setext" / "setext.usda", tmp_path / "crowd" / "crowd.usda"):
        assert _errors(Usd.Stage.Open(str(layer))) == [], layer.name
    shot = Usd.Stage.Open(info["stage"])
    shot.GetRootLayer().subLayerPaths.insert(0, str(tmp_path / "setext" / "setext.usda"))
    shot.GetRootLayer().subLayerPaths.insert(0, str(tmp_path / "crowd" / "crowd.usda"))
    assert _errors(shot) == []
    # Texture paths are relative to the layer and resolve to files that exist.
    from pxr import UsdShade

    tex = UsdShade.Shader(shot.GetPrimAtPath(info["camera"] + "/genpost_setext/material/texture"))
    asset = tex.GetInput("file").Get(1002)
    assert asset.path.startswith("./") and Path(asset.resolvedPath).is_file()
