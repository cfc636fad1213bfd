"""`genpost houdini setup` and `genpost doctor` on this machine (real venv creation, no Houdini)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from genpost_houdini.cli import main
from genpost_houdini.houdini import env, setup

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GENPOST_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.delenv("HOUDINI_USER_PREF_DIR", raising=False)
    monkeypatch.delenv("HOUDINI_PACKAGE_DIR", raising=False)
    monkeypatch.delenv("GENPOST_ROOT", raising=False)
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def test_dry_run_prints_the_steps_and_changes_nothing(home, tmp_path, capsys):
    venv = tmp_path / "venv"
    code = main(["houdini", "setup", "--python", sys.executable, "--venv", str(venv),
                 "--packages-dir", str(tmp_path / "pk"), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"-m venv {venv}" in out and "pip install -e" in out and "[models]" in out
    assert "genpost.json" in out and "houdini_env-py" in out
    assert not venv.exists() and not (tmp_path / "pk").exists() and not (tmp_path / "cfg").exists()


def test_setup_makes_records_and_points(home, tmp_path, capsys):
    venv = tmp_path / "venv"
    packages = home / "houdini21.0" / "packages"
    (home / "houdini20.5").mkdir()
    packages.parent.mkdir()
    assert setup.default_packages_dir() == packages  # the newest ~/houdiniX.Y
    code = main(["houdini", "setup", "--python", sys.executable, "--venv", str(venv), "--no-install"])
    out = capsys.readouterr().out
    assert code == 0 and str(packages / "genpost.json") in out
    assert json.loads((packages / "genpost.json").read_text()) == {"package_path": str(ROOT)}
    version = env.python_tag()
    record = json.loads(env.record_path(version).read_text())
    assert record["venv"] == str(venv) and record["genpost_root"] == str(ROOT)
    found = env.activate_model_env(version)
    assert found.site_packages.is_dir() and str(found.site_packages) in sys.path
    sys.path.remove(str(found.site_packages))
    assert env.genpost_command() == [str(venv / "bin" / "python"), "-m", "genpost_houdini.cli"]


def test_setup_without_a_houdini_folder_says_what_to_pass(home, tmp_path, capsys):
    code = main(["houdini", "setup", "--python", sys.executable, "--venv", str(tmp_path / "v"), "--dry-run"])
    assert code == 3
    assert "--packages-dir" in capsys.readouterr().err


def test_doctor_json_reports_each_area(home, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOUDINI_PACKAGE_DIR", str(ROOT))  # loads the repository's package.json as it is
    monkeypatch.setenv("GENPOST_MODELS", str(tmp_path / "models"))
    (tmp_path / "models" / "tiny-wan").mkdir(parents=True)
    (tmp_path / "models" / "tiny-wan" / "model_index.json").write_text("{}")
    code = main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"] is True
    checks = {c["name"]: c for c in report["checks"]}
    for name in ("python", "numpy", "usd-core", "OpenImageIO", "OpenColorIO", "ocio", "houdini package",
                 "model environment", "gpu", "tensorrt", "onnxruntime", "models", "engine cache"):
        assert name in checks, name
    assert checks["houdini package"]["ok"] and "package.json" in checks["houdini package"]["detail"]
    assert "enabled when houdini_version" in checks["houdini package"]["detail"]
    assert not checks["model environment"]["ok"] and "genpost houdini setup" in checks["model environment"]["fix"]
    assert "tiny-wan (diffusers" in checks["models"]["detail"]
    assert all(c["fix"] for c in report["checks"] if not c["ok"])


def test_doctor_finds_the_setup_pointer(home, capsys):
    packages = home / "houdini22.0" / "packages"
    packages.mkdir(parents=True)
    (packages / "genpost.json").write_text(json.dumps({"package_path": str(ROOT)}))
    (packages / "other.json").write_text(json.dumps({"hpath": "/opt/other"}))
    main(["doctor", "--json"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["houdini package"]["ok"] and "points at" in checks["houdini package"]["detail"]


def test_doctor_exits_3_without_the_default_job_packages(tmp_path):
    # -S: no site-packages, so numpy, usd-core, OpenImageIO and OpenColorIO are all missing.
    out = subprocess.run([sys.executable, "-S", "-m", "genpost_houdini.cli", "doctor"], capture_output=True,
                         text=True, cwd=ROOT, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 3, out.stdout + out.stderr
    assert "[FAIL] numpy" in out.stdout and "pip install" in out.stdout
