"""package.json and the start-up scripts Houdini runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STARTUP = [ROOT / "python3.11libs" / "pythonrc.py", ROOT / "scripts" / "python" / "pythonrc.py"]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def _enabled(expr: str, version: str) -> bool:
    """Evaluate the package's enable expression (comparisons of houdini_version joined by 'and')."""
    ok = True
    for part in expr.split(" and "):
        m = re.fullmatch(r"\s*houdini_version\s*(>=|<=|<|>|==)\s*'([\d.]+)'\s*", part)
        assert m, f"unexpected enable clause {part!r}"
        a, b = _version(version), _version(m.group(2))
        ok &= {">=": a >= b, "<=": a <= b, "<": a < b, ">": a > b, "==": a == b}[m.group(1)]
    return ok


def _hpath_for(data: dict, version: str) -> list[Path]:
    """The HOUDINI_PATH entries the package adds in Houdini ``version`` (plain strings, and
    ``{"<expression>": "<path>"}`` items whose expression holds)."""
    entries = data["hpath"] if isinstance(data["hpath"], list) else [data["hpath"]]
    paths = []
    for item in entries:
        pairs = item.items() if isinstance(item, dict) else [("", item)]
        for expr, value in pairs:
            if not expr or _enabled(expr, version):
                paths.append(Path(value.replace("$HOUDINI_PACKAGE_PATH", str(ROOT))))
    return paths


def _asset_tables(folder: Path) -> set[str]:
    tables = set()
    for index in folder.glob("otls/*.hda/INDEX__SECTION"):
        fields = dict(line.split(":", 1) for line in index.read_text().splitlines() if ":" in line)
        tables.add(fields["Table"].strip())
    return tables


def test_copernicus_asset_is_offered_from_houdini_21_only():
    data = json.loads((ROOT / "package.json").read_text())
    for version in ("20.5", "20.5.332"):
        paths = _hpath_for(data, version)
        assert paths == [ROOT]
        assert "Cop" not in set().union(*(_asset_tables(p) for p in paths)), version
        assert {"Lop", "Sop", "Top"} <= _asset_tables(ROOT)
    for version in ("21.0", "21.0.440", "22.0"):
        paths = _hpath_for(data, version)
        assert "Cop" in set().union(*(_asset_tables(p) for p in paths)), version
    # every version folder holds only an otls/ (no scripts or start-up files loaded twice)
    for folder in ROOT.glob("houdini[0-9]*"):
        assert [p.name for p in folder.iterdir()] == ["otls"], folder


def test_package_json_keys():
    data = json.loads((ROOT / "package.json").read_text())
    assert data["hpath"][0] == "$HOUDINI_PACKAGE_PATH"
    assert data["load_package_once"] is True
    env = {k: v for item in data["env"] for k, v in item.items()}
    assert env["GENPOST_ROOT"] == "$HOUDINI_PACKAGE_PATH"
    assert "PYTHONPATH" not in env and "path" not in data  # nothing prepended globally, no legacy key
    for version in ("20.5", "20.5.332", "21.0", "21.0.440", "22.0", "22.5"):
        assert _enabled(data["enable"], version), version
    for version in ("20.0", "19.5", "23.0"):
        assert not _enabled(data["enable"], version), version


def test_startup_scripts_are_the_same_and_light(tmp_path):
    assert STARTUP[0].read_text() == STARTUP[1].read_text()
    probe = (
        "import runpy, sys\n"
        f"for path in {[str(p) for p in STARTUP]!r}:\n"
        "    runpy.run_path(path)\n"
        f"assert sys.path.count({str(ROOT)!r}) == 1, sys.path\n"
        "heavy = [m for m in ('numpy', 'torch', 'diffusers', 'pxr', 'genpost_houdini') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "import genpost_houdini.houdini.env\n"
        "print('ok')\n"
    )
    env = {"GENPOST_ROOT": str(ROOT), "PATH": "/usr/bin:/bin"}
    # -S: no site-packages, so genpost_houdini can only come from GENPOST_ROOT on sys.path.
    out = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_startup_without_genpost_root_does_nothing(tmp_path):
    probe = f"import runpy, sys\nbefore = list(sys.path)\nrunpy.run_path({str(STARTUP[1])!r})\nassert sys.path == before\n"
    out = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, env={}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
