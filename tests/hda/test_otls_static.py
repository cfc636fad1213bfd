"""Static checks of the expanded HDAs in otls/ (Houdini cannot run here): no drift from hda/,
Sections.list against the files, name encoding, INDEX__SECTION, DialogScript, Python inside."""

from __future__ import annotations

import ast
import importlib
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from genpost_houdini.cli import main
from genpost_houdini.hdabuild import render
from genpost_houdini.hdabuild.build import build_tree, diff_tree, write_tree
from genpost_houdini.hdabuild.dsparse import DialogScriptError, parse_dialog_script
from genpost_houdini.hdabuild.names import TABLES, decode_section_name, encode_section_name, table_qualified
from genpost_houdini.hdabuild.spec import PARM_SIZES, SpecError, load_spec, load_specs

ROOT = Path(__file__).resolve().parents[2]
HDA = ROOT / "hda"
OTLS = ROOT / "otls"
SPECS = load_specs(HDA)
INDEX_FIELDS = ["Operator", "Label", "Path", "Icon", "Table", "License", "Extra", "User", "Inputs", "Subnet",
                "Python", "Empty", "Modified"]


def _id(spec) -> str:
    return f"{spec.table}:{spec.type_name}"


PYTHON_SPECS = [s for s in SPECS if not s.is_subnet]


def _lib_dir(spec) -> Path:
    """``otls/<library>`` or, for assets that need a later Houdini, ``houdiniNN/otls/<library>``."""
    return ROOT / spec.otls_dir / spec.library


def _op_dir(spec) -> Path:
    return _lib_dir(spec) / render.operator_folder_name(spec)


def _sections(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '""', f"{path}: first line must be \"\""
    entries = [tuple(line.split("\t")) for line in lines[1:]]
    assert all(len(e) == 2 for e in entries), f"{path}: every entry is 'disk name<TAB>section name'"
    return entries  # type: ignore[return-value]


def test_expected_assets_are_sourced():
    types = {(s.table, s.type_name) for s in SPECS}
    assert ("Lop", "genpost::set_extension::1.0") in types
    assert ("Lop", "genpost::crowd_replicate::1.0") in types
    assert ("Sop", "genpost::generate::1.0") in types
    assert ("Cop", "genpost::generate::1.0") in types
    assert ("Top", "genpost::wedge::1.0") in types


def test_hda_folder_holds_no_assets():
    assert not [p for p in HDA.rglob("*") if p.suffix in (".hda", ".otl", ".hdanc", ".hdalc")]


def test_otls_is_what_genpost_hda_build_writes():
    assert diff_tree(build_tree(HDA), OTLS) == [], "run `genpost hda build` and commit otls/"
    assert main(["hda", "build", "--check"]) == 0


def test_build_is_deterministic_and_check_detects_drift(tmp_path):
    first, second = build_tree(HDA), build_tree(HDA)
    assert first == second
    out = tmp_path / "otls"
    write_tree(first, out)
    assert diff_tree(first, out) == []
    assert main(["hda", "build", "--check", "--out", str(out)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"otls", "houdini21"}  # version folders beside otls/
    dialog = next(out.rglob("DialogScript"))
    dialog.write_text(dialog.read_text() + "\n")
    lib = tmp_path / SPECS[0].otls_dir / SPECS[0].library
    (lib / "stray.txt").write_text("x")
    assert main(["hda", "build", "--check", "--out", str(out)]) == 4
    assert main(["hda", "build", "--out", str(out)]) == 0  # rebuild repairs and removes the stray
    assert diff_tree(first, out) == [] and not (lib / "stray.txt").exists()
    shutil.rmtree(lib)
    assert any("missing" in p for p in diff_tree(first, out))


def test_name_encoding():
    assert encode_section_name("genpost::Lop/set_extension::1.0") == "genpost_8_8Lop_1set__extension_8_81.0"
    assert encode_section_name("INDEX_SECTION") == "INDEX__SECTION"
    for name in ("genpost::Sop/generate::1.0", "labs::Cop2/dds_file", "a_b::Top/c__d::2.1"):
        assert decode_section_name(encode_section_name(name)) == name


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_library_sections_list_and_index(spec):
    lib = _lib_dir(spec)
    assert lib.name.endswith(".hda") and lib.is_dir()
    entries = _sections(lib / "Sections.list")
    on_disk = sorted(p.name for p in lib.iterdir() if p.name != "Sections.list")
    assert sorted(disk for disk, _ in entries) == on_disk
    for disk, section in entries:
        assert disk == encode_section_name(section)
    assert (lib / "houdini.hdalibrary").read_bytes() == b""
    index = (lib / "INDEX__SECTION").read_text(encoding="utf-8")
    assert index.endswith("\n\n")
    fields = [line.split(":", 1) for line in index.strip("\n").splitlines()]
    assert [k for k, _ in fields] == INDEX_FIELDS
    values = {k: v.strip() for k, v in fields}
    qualified = table_qualified(spec.type_name, spec.table)
    assert values["Operator"] == spec.type_name and values["Table"] == spec.table in TABLES
    assert values["Path"] == f"oplib:/{qualified}?{qualified}"
    assert values["Inputs"] == f"{spec.inputs[0]} to {spec.inputs[1]}"
    expected = ("true", "false", "false") if spec.is_subnet else ("false", "true", "false")
    assert (values["Subnet"], values["Python"], values["Empty"]) == expected
    assert all(line[:14].endswith(" ") or len(line) == 14 for line in index.strip("\n").splitlines())


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_operator_sections(spec):
    op = _op_dir(spec)
    entries = _sections(op / "Sections.list")
    # Contents.gz is stored expanded as the folder Contents.dir (Houdini-written subnet assets).
    listed = sorted("Contents.dir" if disk == "Contents.gz" else disk for disk, _ in entries)
    assert listed == sorted(p.name for p in op.iterdir() if p.name != "Sections.list")
    common = ("DialogScript", "CreateScript", "TypePropertiesOptions", "Tools.shelf", "Help")
    own = ("Contents.dir",) if spec.is_subnet else ("ExtraFileOptions", "PythonModule", "PythonCook", "FunctionName")
    for required in common + own:
        assert required in listed, f"{op}: {required} missing"
    if spec.is_subnet:
        assert "PythonCook" not in listed and "FunctionName" not in listed
        assert ("PythonModule" in listed) == bool(spec.functions())
        create = (op / "CreateScript").read_text()
        assert f"({table_qualified(spec.type_name, spec.table)})" in create
        return
    assert (op / "FunctionName").read_text() == spec.short_name  # no newline, like Houdini's
    for line in (op / "TypePropertiesOptions").read_text().splitlines():
        key, sep, value = line.partition(" := ")
        assert sep and value.endswith(";") and key.isalpha()
    extra = json.loads((op / "ExtraFileOptions").read_text())
    assert extra["PythonModule/IsPython"] == {"type": "bool", "value": True}
    create = (op / "CreateScript").read_text()
    assert f"({table_qualified(spec.type_name, spec.table)})" in create


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_dialog_script_matches_the_source(spec):
    ds = parse_dialog_script((_op_dir(spec) / "DialogScript").read_text(encoding="utf-8"))
    script = spec.type_name if spec.is_subnet else spec.short_name  # as MLOPs / Labs subnet assets
    assert ds["name"] == spec.type_name and ds["label"] == spec.label and ds["script"] == script
    assert len(ds["inputlabels"]) == spec.inputs[1]
    parsed = {p["name"]: p for p in ds["parms"]}
    module_funcs = _module_functions(spec)
    for folder in spec.folders:
        for parm in folder.parms:
            got = parsed[parm.name]
            assert (got["label"], got["type"], got["folder"]) == (parm.label, parm.type, folder.name)
            assert got.get("size") == (str(PARM_SIZES[parm.type]) if parm.type in PARM_SIZES else None)
            if parm.default_expr:
                assert got["default"] == [f"[{parm.default_expr}]"]
            elif parm.default:
                assert got["default"] == list(parm.default)
            assert got["menu"] == list(parm.menu)
            assert got["tags"]["script_callback_language"] == "python"
            if parm.callback:
                fn = render.function_name(parm.callback)
                assert got["tags"]["script_callback"] == f"hou.phm().{fn}(kwargs)" and fn in module_funcs
            if parm.menu_script:
                fn = render.function_name(parm.menu_script)
                assert got["menu_script"] == [f"return hou.phm().{fn}(kwargs)"] and fn in module_funcs
            if parm.help:
                assert got["help"] == " ".join(parm.help.split())
    assert len(parsed) == sum(len(f.parms) for f in spec.folders)


def test_dialog_script_parser_refuses_broken_text():
    with pytest.raises(DialogScriptError):
        parse_dialog_script('{\n    name\tx\n    parm {\n        name "a"\n')
    with pytest.raises(DialogScriptError):
        parse_dialog_script('{\n    name x\n    script x\n    label "x"\n    parm {\n        label "A"\n    }\n}\n')


def _module_functions(spec) -> set[str]:
    if not (_op_dir(spec) / "PythonModule").exists():
        return set()
    tree = ast.parse((_op_dir(spec) / "PythonModule").read_text(), filename=f"{spec.type_name}/PythonModule")
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize("spec", PYTHON_SPECS, ids=_id)
def test_python_sections_compile_and_call_existing_glue(spec):
    op = _op_dir(spec)
    for section in ("PythonModule", "PythonCook"):
        compile((op / section).read_text(), f"{spec.type_name}/{section}", "exec")
    for ref in [spec.cook, *spec.functions()]:
        module, func = ref.split(":")
        assert callable(getattr(importlib.import_module(module), func)), ref
    assert "hou" not in sys.modules or getattr(sys.modules["hou"], "__file__", None) is None


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_tools_shelf_is_a_tab_menu_entry(spec):
    root = ET.fromstring((_op_dir(spec) / "Tools.shelf").read_text(encoding="utf-8"))
    tool = root.find("tool")
    assert tool is not None and tool.get("name") == "$HDA_DEFAULT_TOOL"
    assert root.find("tool/toolMenuContext[@name='viewer']/contextNetType").text == TABLES[spec.table]
    assert root.find("tool/toolMenuContext[@name='network']/contextOpType").text == "$HDA_TABLE_AND_NAME"
    assert root.find("tool/toolSubmenu").text == spec.submenu
    compile(root.find("tool/script").text.replace("$HDA_NAME", "x"), "Tools.shelf", "exec")


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_help_card(spec):
    text = (_op_dir(spec) / "Help").read_text(encoding="utf-8")
    assert text.startswith(f"= {spec.label} =") and f"#internal: {spec.type_name}" in text
    assert f"#context: {spec.table.lower()}" in text and "@parameters" in text
    for folder in spec.folders:
        for parm in folder.parms:
            assert f"    #id: {parm.name}" in text


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_houdini_package_runner_parses_dialog_script(spec):
    """houdini-package-runner's DialogScript grammar (from Houdini's py23convert) finds every callback."""
    ds_module = pytest.importorskip("houdini_package_runner.items.dialog_script",
                                    reason="pip install houdini-package-runner 'setuptools<81'")
    items = ds_module.DialogScriptItem(_op_dir(spec) / "DialogScript", spec.short_name)._gather_items()
    callbacks = sorted(i.name for i in items if type(i).__name__ == "DialogScriptCallbackItem")
    expected = sorted(p.name for f in spec.folders for p in f.parms if p.callback)
    assert callbacks == expected


@pytest.mark.parametrize("spec", PYTHON_SPECS, ids=_id)
def test_python_sections_pass_pyflakes(spec):
    api = pytest.importorskip("pyflakes.api")
    reporter_mod = pytest.importorskip("pyflakes.reporter")
    import io

    for section in ("PythonModule", "PythonCook"):
        out = io.StringIO()
        count = api.check((_op_dir(spec) / section).read_text(), f"{spec.type_name}/{section}",
                          reporter_mod.Reporter(out, out))
        assert count == 0, out.getvalue()


@pytest.mark.slow
def test_houdini_package_runner_flake8_on_otls(tmp_path):
    """The whole houdini-package-runner flake8 pass, as FIELD_NOTES runs it on Houdini-written assets."""
    pytest.importorskip("houdini_package_runner", reason="pip install houdini-package-runner 'setuptools<81'")
    exe = Path(sys.executable).parent / "houdini_package_flake8"
    if not exe.exists():
        pytest.skip("houdini_package_flake8 not installed beside this Python")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for root in [ROOT, *sorted(ROOT.glob("houdini[0-9]*"))]:  # otls/ and the version folders' otls/
        cmd = [str(exe), "--houdini-root", str(root), "--houdini-items", "otls", "--select", "E9,F63,F7,F82"]
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr


def test_spec_errors_name_the_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('type = "genpost::x::1.0"\ntable = "Vop"\n')
    with pytest.raises(SpecError, match="table 'Vop'"):
        load_spec(bad)
    good = (HDA / "set_extension.toml").read_text()
    bad.write_text(good.replace('callback = "genpost_houdini.houdini.lop:on_generator_changed"',
                                'callback = "os:system"'))
    with pytest.raises(SpecError, match="genpost_houdini.houdini"):
        load_spec(bad)
    bad.write_text(good.replace('name = "seed"', 'name = "plate"'))
    with pytest.raises(SpecError, match="'plate' defined twice"):
        load_spec(bad)


def test_vector_parameters_are_written_as_houdini_writes_them(tmp_path):
    """``type vector`` / ``size 3`` / three defaults, as SideFX Labs' box_clip DialogScript has
    them; a wrong number of defaults, a menu on a vector or a vector as a spare copy is refused."""
    good = (HDA / "set_extension.toml").read_text()
    vector = ('[[folder.parm]]\nname = "aim"\nlabel = "Aim"\ntype = "vector"\ndefault = [0, 1.5, -2]\n'
              'disablewhen = "{ generator == classical }"\nhelp = "A direction."\n\n[[folder]]\nname = "output"')
    path = tmp_path / "vec.toml"
    path.write_text(good.replace('[[folder]]\nname = "output"', vector, 1))
    spec = load_spec(path)
    ds = parse_dialog_script(render.dialog_script(spec))
    aim = next(p for p in ds["parms"] if p["name"] == "aim")
    assert (aim["type"], aim["size"], aim["default"]) == ("vector", "3", ["0", "1.5", "-2"])
    assert aim["disablewhen"] == "{ generator == classical }"
    bare = tmp_path / "bare.toml"
    bare.write_text(path.read_text().replace("default = [0, 1.5, -2]\n", ""))
    ds = parse_dialog_script(render.dialog_script(load_spec(bare)))
    assert next(p for p in ds["parms"] if p["name"] == "aim")["default"] == ["0", "0", "0"]
    for bad, message in (("default = [0, 1]", "3 values"), ('default = [0, 1, 2]\nmenu = [["a", "A"]]', "menu")):
        path.write_text(good.replace('[[folder]]\nname = "output"', vector.replace("default = [0, 1.5, -2]", bad), 1))
        with pytest.raises(SpecError, match=message):
            load_spec(path)
    wedge = (HDA / "wedge_top.toml").read_text()
    path.write_text(wedge.replace('[[folder]]\nname = "wedges"', '[[folder.parm]]\nname = "aim"\nlabel = "Aim"\n'
                                  'type = "vector"\n\n[[folder]]\nname = "wedges"', 1)
                    .replace('spare = ["jobfile",', 'spare = ["aim", "jobfile",'))
    with pytest.raises(SpecError, match="not one-value parameters"):
        load_spec(path)
