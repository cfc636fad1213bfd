"""The model environment record, activate_model_env and how nodes find genpost."""

from __future__ import annotations

import json
import sys

import pytest

from genpost_houdini.errors import DependencyError
from genpost_houdini.houdini import env


def _record(folder, version, venv):
    site = venv / "lib" / f"python{version}" / "site-packages"
    site.mkdir(parents=True)
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    (venv / "bin" / "python").write_text("")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"houdini_env-py{version}.json").write_text(json.dumps({
        "python_version": version, "venv": str(venv), "python": str(venv / "bin" / "python"),
        "site_packages": str(site), "genpost_root": "/repo"}))
    return site


def test_missing_environment_says_what_to_run(tmp_path):
    environ = {"GENPOST_CONFIG_DIR": str(tmp_path / "cfg"), "PATH": ""}
    with pytest.raises(DependencyError, match="genpost houdini setup"):
        env.activate_model_env("3.11", environ)
    with pytest.raises(DependencyError, match="genpost houdini setup"):
        env.genpost_command(environ)
    assert "genpost houdini setup" in env.status_message(environ)


def test_activate_appends_site_packages_once(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg"
    site = _record(cfg, "3.11", tmp_path / "venv")
    monkeypatch.setattr(sys, "path", list(sys.path))
    environ = {"GENPOST_CONFIG_DIR": str(cfg)}
    got = env.activate_model_env("3.11", environ)
    assert got.site_packages == site and sys.path[-1] == str(site)
    env.activate_model_env("3.11", environ)
    assert sys.path.count(str(site)) == 1


def test_vanished_environment_is_reported(tmp_path):
    cfg = tmp_path / "cfg"
    site = _record(cfg, "3.13", tmp_path / "venv")
    site.rmdir()
    with pytest.raises(DependencyError, match="missing"):
        env.activate_model_env("3.13", {"GENPOST_CONFIG_DIR": str(cfg)})


def test_damaged_record_is_named(tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "houdini_env-py3.11.json").write_text("{not json")
    with pytest.raises(DependencyError, match="houdini_env-py3.11.json"):
        env.read_record("3.11", {"GENPOST_CONFIG_DIR": str(cfg)})


def test_genpost_command_order(tmp_path):
    cfg = tmp_path / "cfg"
    _record(cfg, env.python_tag(), tmp_path / "venv")
    environ = {"GENPOST_CONFIG_DIR": str(cfg), "PATH": ""}
    assert env.genpost_command(environ) == [str(tmp_path / "venv" / "bin" / "python"), "-m", "genpost_houdini.cli"]
    (tmp_path / "venv" / "bin" / "genpost").write_text("")
    assert env.genpost_command(environ) == [str(tmp_path / "venv" / "bin" / "genpost")]
    assert env.genpost_command({**environ, "GENPOST_PYTHON": "/x/python"}) == ["/x/python", "-m", "genpost_houdini.cli"]
