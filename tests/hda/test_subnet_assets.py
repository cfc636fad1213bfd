"""Static checks of the subnet assets (Set Extension and Crowd LOPs, TOP wedge, Copernicus
generate): Contents.dir against its Sections.list, Contents.mime parsed as MIME with Python's
email package, every inner node's sections, the hscript .def/.parm/.chn/.spareparmdef text, the
glue the inner code and channel expressions call, and the wedge / snippet glue driven with the
values the inner nodes deliver."""

from __future__ import annotations

import ast
import email
import email.policy
import importlib
import importlib.util
import inspect
import re
import sys
import types
from pathlib import Path

import pytest

from genpost_houdini.cli import main
from genpost_houdini.errors import BadInputError
from genpost_houdini.hdabuild import render, subnet
from genpost_houdini.hdabuild.build import build_tree, diff_tree, write_tree
from genpost_houdini.hdabuild.dsparse import parse_dialog_script
from genpost_houdini.hdabuild.names import encode_section_name
from genpost_houdini.hdabuild.spec import SpecError, load_spec, load_specs

ROOT = Path(__file__).resolve().parents[2]
HDA = ROOT / "hda"
OTLS = ROOT / "otls"
SUBNETS = [s for s in load_specs(HDA) if s.is_subnet]
NUMERIC = ("integer", "float", "toggle")


def _id(spec) -> str:
    return f"{spec.table}:{spec.type_name}"


def _contents_dir(spec) -> Path:
    return ROOT / spec.otls_dir / spec.library / render.operator_folder_name(spec) / "Contents.dir"


def _parts(spec) -> list[tuple[str, str]]:
    """(filename, payload) of Contents.mime, parsed by the standard library's MIME parser."""
    raw = (_contents_dir(spec) / "Contents.mime").read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert msg.is_multipart() and msg.get_content_type() == "multipart/mixed"
    assert msg.get_boundary() == subnet.BOUNDARY
    assert not msg.defects, msg.defects
    parts = []
    for part in msg.get_payload():
        assert part.get_content_disposition() == "attachment"
        assert part.get_content_type() == "text/plain"
        parts.append((part.get_filename(), part.get_payload()))
    return parts


def _parm_values(text: str) -> dict[str, str]:
    """A .parm section: ``name<TAB>[ 0<TAB>locks=0 ]<TAB>(<TAB>values<TAB>)`` per parameter."""
    assert text.startswith("{\nversion 0.8\n") and text.endswith("\n}\n"), text[:40]
    body = text[len("{\nversion 0.8\n"):-len("}\n")]
    found = re.findall(r"^([A-Za-z_][A-Za-z0-9_#]*)\t\[ 0\tlocks=0 \]\t\(\t(.*?)\t\)\n", body, re.S | re.M)
    assert "".join(f"{n}\t[ 0\tlocks=0 ]\t(\t{v}\t)\n" for n, v in found) == body, "unparsed .parm text"
    return dict(found)


def _unquote(value: str) -> str:
    assert value.startswith('"') and value.endswith('"'), value[:30]
    return re.sub(r"\\(.)", r"\1", value[1:-1])


def test_every_asset_but_the_sop_is_a_subnet():
    found = {(s.table, s.type_name) for s in SUBNETS}
    assert found == {("Top", "genpost::wedge::1.0"), ("Cop", "genpost::generate::1.0"),
                     ("Lop", "genpost::set_extension::1.0"), ("Lop", "genpost::crowd_replicate::1.0")}
    for spec in SUBNETS:
        index = (_contents_dir(spec).parents[1] / "INDEX__SECTION").read_text()
        assert re.search(r"^Subnet:\s+true$", index, re.M) and re.search(r"^Python:\s+false$", index, re.M)
        assert not (_contents_dir(spec).parent / "PythonCook").exists()


@pytest.mark.parametrize("spec", SUBNETS, ids=_id)
def test_contents_dir_matches_its_sections_list(spec):
    folder = _contents_dir(spec)
    lines = (folder / "Sections.list").read_text(encoding="utf-8").splitlines()
    assert lines[0] == '""'
    entries = [tuple(line.split("\t")) for line in lines[1:]]
    assert all(len(e) == 2 for e in entries)
    assert sorted(d for d, _ in entries) == sorted(p.name for p in folder.iterdir() if p.name != "Sections.list")
    assert all(disk == encode_section_name(name) for disk, name in entries)
    assert ("Contents.mime", "Contents.mime") in entries
    op_sections = (folder.parent / "Sections.list").read_text().splitlines()
    assert "Contents.gz\tContents.gz" in op_sections and not (folder.parent / "Contents.gz").exists()


@pytest.mark.parametrize("spec", SUBNETS, ids=_id)
def test_contents_mime_holds_the_network_in_houdini_order(spec):
    parts = _parts(spec)
    names = [n for n, _ in parts]
    assert names[:5] == ["node_type", "hdaroot.init", "hdaroot.def", "hdaroot.userdata", "hdaroot.inp"]
    assert names[-2:] == ["hdaroot.order", "hdaroot.net"]
    payload = dict(parts)
    assert payload["node_type"] == f"{spec.table}\n"
    assert payload["hdaroot.init"] == f"type = {spec.type_name}\nmatchesdef = 0\n"
    inp = payload["hdaroot.inp"].splitlines()
    assert int(inp[0]) == spec.inputs[1] == len(inp) - 1
    order = payload["hdaroot.order"].splitlines()
    assert int(order[0]) == len(spec.nodes) and order[1:] == [n.name for n in spec.nodes]
    for node in spec.nodes:
        base = f"hdaroot/{node.name}"
        for ext in (".init", ".def", ".parm", ".userdata"):
            assert base + ext in payload, f"{base}{ext} missing"
        assert payload[base + ".init"].startswith(f"type = {node.type}\nmatchesdef = ")
        assert (base + ".spareparmdef" in payload) == bool(node.spare)
        assert (base + ".chn" in payload) == (any(spec.parm(p).type in NUMERIC for p in node.spare) or bool(node.exprs))
    child_parts = [n for n in names[5:-2]]
    assert all(n.startswith("hdaroot/") for n in child_parts)
    # each node's sections are contiguous and in .init, .def, [.spareparmdef], [.chn], .parm, .userdata order
    rank = {".init": 0, ".def": 1, ".spareparmdef": 2, ".chn": 3, ".parm": 4, ".userdata": 5}
    for node in spec.nodes:
        mine = [n for n in child_parts if n.rsplit(".", 1)[0] == f"hdaroot/{node.name}"]
        assert [rank["." + n.rsplit(".", 1)[1]] for n in mine] == sorted(rank["." + n.rsplit(".", 1)[1]] for n in mine)


@pytest.mark.parametrize("spec", SUBNETS, ids=_id)
def test_node_definitions_wire_a_valid_network(spec):
    payload = dict(_parts(spec))
    names = {n.name for n in spec.nodes}
    displayed = []
    for node in spec.nodes:
        text = payload[f"hdaroot/{node.name}.def"]
        assert text.startswith('comment ""\nposition ') and text.endswith("exprlanguage hscript\nend\n")
        flags = re.search(r"^flags =  (.*)$", text, re.M).group(1).split()
        assert flags[flags.index("display") + 1] in ("on", "off")
        if flags[flags.index("display") + 1] == "on":
            displayed.append(node.name)
        block = re.search(r"\ninputs\n\{\n(.*?)\}\n", text, re.S).group(1).splitlines()
        assert len(block) == len(node.inputs)
        for i, line in enumerate(block):
            idx, src, _, _ = line.replace("\t", " ").split()
            assert int(idx) == i and (src in names or re.fullmatch(r"\((\d+)\)", src))
            if src.startswith("("):
                assert int(src[1:-1]) < spec.inputs[1]
    assert len(displayed) == 1 and next(n for n in spec.nodes if n.name == displayed[0]).type == "output"


@pytest.mark.parametrize("spec", SUBNETS, ids=_id)
def test_spare_parameters_follow_the_asset_interface(spec):
    payload = dict(_parts(spec))
    asset = {p["name"]: p for p in parse_dialog_script(
        (_contents_dir(spec).parent / "DialogScript").read_text())["parms"]}
    for node in (n for n in spec.nodes if n.spare):
        values = _parm_values(payload[f"hdaroot/{node.name}.parm"])
        spare_def = payload[f"hdaroot/{node.name}.spareparmdef"]
        chn = payload.get(f"hdaroot/{node.name}.chn", "")
        for name in node.spare:
            kind = asset[name]["type"]
            block = re.search(r'    parm \{\n        name    "' + name + r'"\n(.*?)\n    \}\n', spare_def, re.S)
            assert block and f"type    {kind}" in block.group(1), name
            if kind in NUMERIC:
                assert values[name].startswith(f"[ {name}\t")  # driven by the channel below
                assert re.search(r"channel " + name + r' \{.*?expr = ch\(\\"\.\./' + name + r'\\"\) \}', chn, re.S)
            else:
                assert values[name] == f'`chs(\\"../{name}\\")`'


def _inner_code(spec, node) -> str:
    payload = dict(_parts(spec))
    return _unquote(_parm_values(payload[f"hdaroot/{node.name}.parm"])[node.code_parm])


@pytest.mark.parametrize("spec", SUBNETS, ids=_id)
def test_inner_code_is_a_short_call_into_existing_glue(spec):
    coded = [n for n in spec.nodes if n.code_parm]
    assert coded or any(n.exprs for n in spec.nodes)
    for node in coded:
        code = _inner_code(spec, node)
        assert code == subnet.node_code(spec, node)
        statements = [s for s in code.splitlines() if s.strip() and not s.lstrip().startswith("#")]
        assert len(statements) == 2, "the inner code is an import and one call"
        # callback and snippet bodies run as function bodies (the snippet returns its outputs)
        wrapped = "def _callback(self, item_holder, upstream_items, generation_type, kwargs):\n" + \
            "".join(f"    {line}\n" for line in code.splitlines())
        tree = ast.parse(wrapped)
        call = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        assert len(call) == 1
        module, func = node.glue.split(":")
        target = getattr(importlib.import_module(module), func)
        assert callable(target)
        params = [p for p in inspect.signature(target).parameters.values() if p.default is p.empty]
        assert len(call[0].args) == len(params), f"{node.glue} takes {len(params)} arguments"
        pyflakes = pytest.importorskip("pyflakes.api")
        import io

        from pyflakes.reporter import Reporter

        out = io.StringIO()
        assert pyflakes.check(wrapped, f"{spec.type_name}/{node.name}", Reporter(out, out)) == 0, out.getvalue()
    assert "hou" not in sys.modules or getattr(sys.modules["hou"], "__file__", None) is None


def test_wedge_processors_carry_what_the_glue_reads():
    from genpost_houdini.houdini import wedge

    spec = next(s for s in SUBNETS if s.table == "Top")
    first, second = [n for n in spec.nodes if n.type == "pythonprocessor"]
    assert first.code_parm == "generate" and first.glue == "genpost_houdini.houdini.wedge:on_generate"
    assert set(first.spare) == set(wedge.WEDGE_PARMS)
    assert second.glue == "genpost_houdini.houdini.wedge:on_register_outputs" and second.inputs == (first.name,)
    # "2" Automatic, "0" Each Upstream Item is Cooked (SideFX Labs roptopkarma's menu tokens)
    assert dict(first.parms)["pdg_workitemgeneration"] == '"2"'
    assert dict(second.parms)["pdg_workitemgeneration"] == '"0"'
    assert spec.parm("genpost").default == ("genpost",)
    help_text = (_contents_dir(spec).parent / "Help").read_text()
    assert "one slot per GPU" in help_text and "file/image/exr" in help_text and "file/usd" in help_text


def _chn_exprs(text: str) -> dict[str, tuple[str, bool]]:
    """channel name -> (expression, is Python) of a .chn section."""
    found = {}
    for name, body in re.findall(r"    channel (\w+) \{\n(.*?)\n    \}", text, re.S):
        m = re.search(r'segment \{ length = 0 (?:value = \S+ \S+ )?expr = (".*"|\S.*?)( language = python)? \}$', body, re.S)
        assert m, body
        expr = _unquote(m.group(1)) if m.group(2) else m.group(1).replace('\\"', '"')
        found[name] = (expr, bool(m.group(2)))
    return found


@pytest.mark.parametrize("spec", [s for s in SUBNETS if s.table == "Lop"], ids=_id)
def test_lop_loads_the_layer_through_built_in_lops(spec):
    assert [n.type for n in spec.nodes] == ["error", "sublayer", "output"]
    payload = dict(_parts(spec))
    error, loader, _ = spec.nodes
    loader_parms = _parm_values(payload[f"hdaroot/{loader.name}.parm"])
    assert loader_parms["editrootlayer"] == '"on"' and loader_parms["num_files"] == "1"
    error_parms = _parm_values(payload[f"hdaroot/{error.name}.parm"])
    assert error_parms["severity1"] == '"warn"' and error_parms["numerror"] == "1"
    expected = {error.name: {"errormsg1": "missing_output_message", "enable1": "missing_output_warns"},
                loader.name: {"filepath1": "layer_file", "enable1": "layer_loads"}}
    from genpost_houdini.houdini import lop

    for node in (error, loader):
        exprs = _chn_exprs(payload[f"hdaroot/{node.name}.chn"])
        assert set(exprs) == set(expected[node.name])
        for parm, func in expected[node.name].items():
            code, is_python = exprs[parm]
            assert is_python and code == f"from genpost_houdini.houdini import lop\nreturn lop.{func}(hou.pwd().parent())"
            compile("def _expr():\n" + "".join(f"    {line}\n" for line in code.splitlines()), parm, "exec")
            assert len(inspect.signature(getattr(lop, func)).parameters) == 1
    ds = {p["name"]: p for p in parse_dialog_script((_contents_dir(spec).parent / "DialogScript").read_text())["parms"]}
    assert ds["loadfromdisk"]["type"] == "toggle" and ds["loadfromdisk"]["label"] == "Load from Disk"
    assert ds["generate"]["type"] == "button" and ds["generate"]["tags"]["script_callback"] == "hou.phm().on_generate(kwargs)"
    assert ds["submit"]["label"] == "Submit to Farm" and ds["submit"]["tags"]["script_callback"] == "hou.phm().on_submit(kwargs)"
    assert "sublayer" not in ds  # the old Python-type cook's toggle; Load from Disk replaces it


def test_cop_snippet_signature_and_bindings():
    spec = next(s for s in SUBNETS if s.table == "Cop")
    assert spec.otls_dir == "houdini21/otls" and spec.min_houdini == "21.0"
    inputs_node = next(n for n in spec.nodes if n.type == "input")
    node = next(n for n in spec.nodes if n.type == "pythonsnippet")
    assert node.code_parm == "pythoncode" and node.glue == "genpost_houdini.houdini.cop:snippet" and node.glue_return
    assert node.inputs == ("inputs:0", "inputs:1", "inputs:2") and len(inputs_node.output_names) == spec.inputs[1]
    parms = {k: v.strip('"') for k, v in node.parms}
    ports = [(parms[f"input{i}_name"], parms[f"input{i}_type"]) for i in range(1, int(parms["inputs"]) + 1)]
    layer_type = {"RGBA": "float4", "Mono": "float"}
    assert ports == [(name, layer_type[t]) for name, t in spec.cop_inputs]
    assert [(parms["output1_name"], parms["output1_type"])] == [(n, layer_type[t]) for n, t in spec.cop_outputs]
    bound = {parms[f"bindings{i}_name"]: parms[f"bindings{i}_type"] for i in range(1, int(parms["bindings"]) + 1)}
    assert bound == {"generator": "string", "model": "string", "prompt": "string", "seed": "int",
                     "strength": "float", "frame": "int"}
    for name, kind in bound.items():
        assert f"#bind parm {name} {kind}" in node.bind_lines
    driven = {e.parm: e.hscript for e in node.exprs}
    assert driven == {"bindings4_intval": 'ch("../seed")', "bindings5_fval": 'ch("../strength")', "bindings6_intval": "$F"}
    for i, name in ((1, "generator"), (2, "model"), (3, "prompt")):
        assert parms[f"bindings{i}_sval"] == f'`chs("../{name}")`'
    payload = dict(_parts(spec))
    assert 'outputsNamed3\n{\n3 "C"\n}' in payload[f"hdaroot/{node.name}.def"]
    ds = (_contents_dir(spec).parent / "DialogScript").read_text()
    assert "    signature\tdefault\tDefault\t{ RGBA Mono Mono }\t{ RGBA }\n" in ds
    assert "    input\tinput2\tdepth\n" in ds and "    output\toutput1\tC\n" in ds


def test_subnet_build_is_deterministic_and_drift_is_caught(tmp_path):
    first, second = build_tree(HDA), build_tree(HDA)
    assert first == second
    mimes = [rel for rel in first if rel.endswith("Contents.dir/Contents.mime")]
    assert len(mimes) == len(SUBNETS)
    out = tmp_path / "otls"
    write_tree(first, out)
    assert main(["hda", "build", "--check", "--out", str(out)]) == 0
    target = tmp_path / mimes[0]  # tree paths are relative to the package root, otls/'s parent
    target.write_text(target.read_text().replace("matchesdef = 0", "matchesdef = 1", 1))
    assert any("differs" in p and "Contents.mime" in p for p in diff_tree(first, out))
    assert main(["hda", "build", "--check", "--out", str(out)]) == 4
    assert main(["hda", "build", "--out", str(out)]) == 0 and diff_tree(first, out) == []
    assert main(["hda", "build", "--check"]) == 0  # the committed otls/ and houdini21/otls/


def test_parm_value_quoting():
    assert subnet.parm_value("file/image") == "file/image"
    assert subnet.parm_value("") == '""'
    assert subnet.parm_value('a "b"\nc\\d') == '"a \\"b\\"\nc\\\\d"'


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.toml"
    path.write_text(text)
    return path


def test_subnet_spec_errors_name_the_problem(tmp_path):
    good = (HDA / "wedge_top.toml").read_text()
    with pytest.raises(SpecError, match="no 'cook'"):
        load_spec(_write(tmp_path, 'cook = "genpost_houdini.houdini.wedge:on_generate"\n' + good))
    with pytest.raises(SpecError, match="neither '\\(N\\)' nor an inner node"):
        load_spec(_write(tmp_path, good.replace('inputs = ["generate_work_items"]', 'inputs = ["nowhere"]')))
    with pytest.raises(SpecError, match="has 1 input"):
        load_spec(_write(tmp_path, good.replace('inputs = ["(0)"]', 'inputs = ["(1)"]')))
    with pytest.raises(SpecError, match="not one-value parameters of the asset"):
        load_spec(_write(tmp_path, good.replace('spare = ["jobfile",', 'spare = ["nosuch", "jobfile",')))
    with pytest.raises(SpecError, match="genpost_houdini.houdini"):
        glue = 'glue = "genpost_houdini.houdini.wedge:on_generate"'
        load_spec(_write(tmp_path, good.replace(glue, 'glue = "os:system"')))
    with pytest.raises(SpecError, match="display = true"):
        load_spec(_write(tmp_path, good.replace("display = true", "display = false")))


# -- the glue with the values the inner nodes deliver -------------------------------------------
def _load_fake_pdg() -> types.ModuleType:
    """tests/houdini_glue/fake_pdg.py: the one stand-in for SideFX's pdg (not installable)."""
    spec = importlib.util.spec_from_file_location("fake_pdg", Path(__file__).parents[1] / "houdini_glue" / "fake_pdg.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FAKE_PDG = _load_fake_pdg()


class _NoErrors:
    """A pdg.Node without ``cookError``: parameters indexed by name only."""

    def __init__(self, values):
        self.values = values

    def __getitem__(self, name):
        return FAKE_PDG.Processor(self.values)[name]


@pytest.fixture()
def fake_pdg(monkeypatch):
    """SideFX's pdg module is not installable: the two result values the callback returns."""
    module = FAKE_PDG.make_module()
    monkeypatch.setitem(sys.modules, "pdg", module)
    return module


@pytest.fixture()
def job_file(tmp_path):
    from genpost_houdini.houdini import jobs

    params = jobs.setext_params(
        {"plate": str(tmp_path / "plate.####.exr"), "depth": str(tmp_path / "depth.####.exr"),
         "extend": str(tmp_path / "mask.####.exr"), "framestart": 1001, "frameend": 1006,
         "outdir": str(tmp_path / "out"), "generator": "classical", "seed": 0},
        tmp_path / "shot.usda",
    )
    return jobs.write_job("setext", params)


def test_wedge_callback_with_the_inner_nodes_values(fake_pdg, job_file, tmp_path, monkeypatch):
    from genpost_houdini.houdini import wedge

    values = {"jobfile": str(job_file), "frames": "", "chunksize": 4, "outdir": str(tmp_path / "elsewhere"),
              "seeds": "1,2", "prompts": "", "strengths": "", "genpost": "/opt/genpost/bin/genpost"}
    holder = FAKE_PDG.ItemHolder()
    assert wedge.on_generate(FAKE_PDG.Processor(values), holder, [], None) == "Success"
    assert len(holder.items) == 2 * 2  # 2 seeds x frames 1001-1006 in chunks of 4 (4 + 2)
    outs = {i.attribs["genpost_out"] for i in holder.items}
    assert len(outs) == 2 and all(o.startswith(str(tmp_path / "elsewhere")) for o in outs)
    assert (tmp_path / "elsewhere" / ".genpost" / "wedge_job.json").is_file()
    assert {t for i in holder.items for _, t in i.expected} == {"file/image/exr", "file/usd"}

    broken = FAKE_PDG.Processor({**values, "jobfile": str(tmp_path / "missing.json")})
    assert wedge.on_generate(broken, FAKE_PDG.ItemHolder(), [], None) == "Failure"
    assert "missing.json" in broken.errors[0]
    # without cookError the glue raises, so the cook still fails with the message
    with pytest.raises(BadInputError, match="Job File"):
        wedge.on_generate(_NoErrors({**values, "jobfile": ""}), FAKE_PDG.ItemHolder(), [], None)


class _Layer:
    """hou.ImageLayer as the types-houdini stubs describe the calls the snippet makes (SideFX's;
    not installable): buffer row 0 is the bottom row; a frozen copy is writable."""

    def __init__(self, array, storage="Float32"):
        import numpy as np

        self.array = np.asarray(array, np.float32)
        self.storage, self.frozen = storage, False

    def bufferResolution(self):  # noqa: N802
        return self.array.shape[1], self.array.shape[0]

    def allBufferElements(self, storagetype, channels):  # noqa: N802
        import numpy as np

        assert storagetype == "Float32"
        h, w, c = self.array.shape
        out = np.ones((h, w, channels), np.float32)  # widened like Houdini: missing channels = 1
        out[..., : min(c, channels)] = self.array[..., :channels]
        return out.tobytes()

    def freeze(self):
        copy = _Layer(self.array.copy(), self.storage)
        copy.frozen = True
        return copy

    def storageType(self):  # noqa: N802
        return self.storage

    def setStorageType(self, storagetype):  # noqa: N802
        self.storage = storagetype

    def channelCount(self):  # noqa: N802
        return self.array.shape[2]

    def setAllBufferElements(self, data):  # noqa: N802
        import numpy as np

        assert self.frozen, "only a frozen layer is writable"
        dtype = {"Float32": np.float32, "Float16": np.float16}[self.storage]
        self.array = np.frombuffer(data, dtype).astype(np.float32).reshape(self.array.shape)


def test_cop_snippet_uses_the_bound_parameters(monkeypatch):
    import numpy as np

    from genpost_houdini.houdini import cop

    hou = types.ModuleType("hou")
    hou.imageLayerStorageType = types.SimpleNamespace(Float32="Float32", Float16="Float16", Int8="Int8")
    hou.frame = lambda: 1.0  # the bound frame wins
    monkeypatch.setitem(sys.modules, "hou", hou)
    h, w = 12, 16
    rgba = np.concatenate([np.tile(np.linspace(0, 1, w, dtype=np.float32)[None, :, None], (h, 1, 3)),
                           np.full((h, w, 1), 0.25, np.float32)], axis=-1)
    mask = np.zeros((h, w, 1), np.float32)
    mask[4:8, 6:10] = 1
    depth = np.full((h, w, 1), 5.0, np.float32)
    kwargs = {"C": _Layer(rgba), "depth": _Layer(depth), "mask": _Layer(mask),
              "generator": "classical", "model": "", "prompt": "", "seed": 3, "strength": 1.0, "frame": 1001}
    out = cop.snippet(kwargs)
    assert set(out) == {"C"} and out["C"] is not kwargs["C"] and kwargs["C"].array is not out["C"].array
    result = out["C"].array
    keep = mask[..., 0] < 0.5
    np.testing.assert_array_equal(result[keep], rgba[keep])  # outside the mask: untouched
    np.testing.assert_array_equal(result[..., 3], rgba[..., 3])  # alpha passes through
    assert np.isfinite(result).all()
    again = cop.snippet(kwargs)["C"].array
    np.testing.assert_array_equal(again, result)  # same seed and frame, same pixels
    # an RGB half-float colour layer comes back in its own layout
    half = _Layer(rgba[..., :3], storage="Float16")
    out16 = cop.snippet({**kwargs, "C": half})["C"]
    assert out16.storageType() == "Float16" and out16.channelCount() == 3
    np.testing.assert_allclose(out16.array[keep], rgba[..., :3][keep], atol=1e-3)
