"""The wedge TOP's two steps -- work items for frame chunks x wedges, then per cooked chunk the files
it wrote -- through a fake item holder shaped like PDG's (pdg is SideFX's, not installable)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

import fake_pdg
from genpost_houdini.errors import BadInputError
from genpost_houdini.houdini import jobs, wedge

FakeWorkItem, FakeItemHolder = fake_pdg.WorkItem, fake_pdg.ItemHolder


@pytest.fixture()
def job_file(tmp_path):
    params = jobs.setext_params(
        {"plate": str(tmp_path / "plate.####.exr"), "depth": str(tmp_path / "depth.####.exr"),
         "extend": str(tmp_path / "mask.####.exr"), "framestart": 1001, "frameend": 1010,
         "outdir": str(tmp_path / "out"), "generator": "classical", "seed": 0},
        tmp_path / "shot.usda",
    )
    return jobs.write_job("setext", params)


def test_wedge_values_parse_the_node_fields():
    got = wedge.wedge_values("1-3", "a street at dusk\n\na street at night\n", "0.5,0.75")
    assert got == {"seed": [1, 2, 3], "prompt": ["a street at dusk", "a street at night"], "strength": [0.5, 0.75]}
    assert wedge.wedge_values() == {}


def _values(job_file, **kw):
    values = {"jobfile": str(job_file), "seeds": "", "prompts": "", "strengths": "", "chunksize": 4,
              "frames": "", "genpost": "genpost", "outdir": ""}
    values.update(kw)
    return values


def test_work_items_are_chunks_times_wedges_with_distinct_outputs(job_file):
    holder = FakeItemHolder()
    items = wedge.add_work_items(holder, _values(job_file, seeds="1,2", strengths="0.5,0.7,0.9"))
    assert len(items) == 6 * 3  # 2 seeds x 3 strengths, frames 1001-1010 in chunks of 4 (4+4+2)
    wedge_indices = sorted({i.attribs["wedgeindex"] for i in items})
    assert wedge_indices == list(range(6)) and {i.attribs["wedgecount"] for i in items} == {6}
    first = items[0]
    argv = shlex.split(first.command)
    assert argv[:2] == ["genpost", "run"] and "--wedge-index" in argv and "--frames" in argv
    assert {tag for _, tag in first.expected} == {"file/image/exr", "file/usd"}
    exrs = [p for p, t in first.expected if t == "file/image/exr"]
    assert len(exrs) == 4 and exrs[0].endswith("setext.1001.exr")
    # each wedge writes its own folder; no two work items declare the same file
    assert len({i.attribs["genpost_out"] for i in items}) == 6
    declared = [p for i in items for p, _ in i.expected]
    assert len(declared) == len(set(declared)) == 6 * (10 + 1)
    layers = [i for i in items if any(t == "file/usd" for _, t in i.expected)]
    assert len(layers) == 6 and all(i.attribs["genpost_chunk"] == 0 and i.attribs["genpost_layer"] for i in layers)


def test_genpost_command_is_the_parameter_else_genpost_else_env(job_file, monkeypatch):
    monkeypatch.setenv("GENPOST_PYTHON", "/home/artist/venv/bin/python")  # never used by work items
    monkeypatch.delenv("GENPOST", raising=False)
    item = wedge.add_work_items(FakeItemHolder(), _values(job_file, genpost=""))[0]
    assert shlex.split(item.command)[0] == "genpost"
    monkeypatch.setenv("GENPOST", "/farm/tools/genpost")
    item = wedge.add_work_items(FakeItemHolder(), _values(job_file, genpost=""))[0]
    assert shlex.split(item.command)[0] == "/farm/tools/genpost"
    item = wedge.add_work_items(FakeItemHolder(), _values(job_file, genpost="/opt/gp/bin/genpost"))[0]
    assert shlex.split(item.command)[0] == "/opt/gp/bin/genpost"
    assert wedge.genpost_for_items("", {}) == "genpost"


def test_upstream_items_become_parents(job_file):
    holder = FakeItemHolder()
    parents = ["upstream0", "upstream1"]
    items = wedge.add_work_items(holder, _values(job_file, chunksize=10, frames="1001-1005"), upstream_items=parents)
    assert [i.parent for i in items] == parents


def test_missing_job_file_is_named(tmp_path):
    with pytest.raises(BadInputError, match="nope.json"):
        wedge.add_work_items(FakeItemHolder(), {"jobfile": str(tmp_path / "nope.json")})
    with pytest.raises(BadInputError, match="Job File"):
        wedge.add_work_items(FakeItemHolder(), {"jobfile": ""})


def test_registered_outputs_are_what_each_chunk_wrote(job_file, monkeypatch):
    """The second step reads the manifest the real writer (workunit.Manifest) recorded: every
    chunk lists the frames it wrote that exist, the first chunk also the layer; nothing twice."""
    import sys
    import types

    from genpost_houdini.jobs.workunit import Manifest

    monkeypatch.setitem(sys.modules, "pdg", types.SimpleNamespace(result=types.SimpleNamespace(Success="ok", Failure="no")))
    generated = FakeItemHolder()
    items = wedge.add_work_items(generated, _values(job_file, seeds="1,2"))
    done = items[:2] + items[3:4]  # wedge 0: chunks 1001-1004, 1005-1008; wedge 1: chunk 1001-1004
    for item in done:
        out = Path(item.attribs["genpost_out"])
        out.mkdir(parents=True, exist_ok=True)
        with Manifest(out) as manifest:
            for path, tag in item.expected:
                if tag == "file/image/exr" and not path.endswith("1002.exr"):  # 1002 never finished
                    Path(path).write_bytes(b"exr")
                    frame = int(path.rsplit(".", 2)[-2])
                    manifest.record(frame, "hash", [path])
        if item.attribs["genpost_layer"]:
            Path(item.attribs["genpost_layer"]).write_text("#usda 1.0\n")
    registered = FakeItemHolder()
    assert wedge.on_register_outputs(None, registered, done, None) == "ok"
    assert [r.parent for r in registered.items] == done
    first, second, other = registered.items
    assert [Path(p).name for p, t in first.outputs] == ["setext.1001.exr", "setext.1003.exr", "setext.1004.exr",
                                                       "setext.usda"]
    assert [t for _, t in first.outputs] == ["file/image/exr"] * 3 + ["file/usd"]
    assert [Path(p).name for p, _ in second.outputs] == [f"setext.{f}.exr" for f in (1005, 1006, 1007, 1008)]
    every = [p for r in registered.items for p, _ in r.outputs]
    assert len(every) == len(set(every)) and all(Path(p).is_file() for p in every)
    assert Path(other.outputs[0][0]).parent != Path(first.outputs[0][0]).parent  # another wedge's folder
    bare = FakeWorkItem(0)
    with pytest.raises(BadInputError, match="genpost_out"):
        wedge.on_register_outputs(None, FakeItemHolder(), [bare], None)
