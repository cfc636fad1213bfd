"""PDG helpers against a small fake of PDG's work item API (which we do not own)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from conftest import make_toy_job

from genpost_houdini.cli import main
from genpost_houdini.farm import pdg as gp


class FakeWorkItem:
    """The slice of pdg.WorkItem the helpers use."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.attribs: dict[str, Any] = {}
        self.command = ""
        self.expected: list[tuple[str, str, bool]] = []
        self.outputs: list[tuple[str, str, int, bool]] = []

    def setIntAttrib(self, name: str, value: int, index: int = 0) -> None:  # noqa: N802 - PDG's names
        assert isinstance(value, int)
        self.attribs[name] = value

    def setFloatAttrib(self, name: str, value: float, index: int = 0) -> None:  # noqa: N802
        assert isinstance(value, float)
        self.attribs[name] = value

    def setStringAttrib(self, name: str, value: str, index: int = 0) -> None:  # noqa: N802
        assert isinstance(value, str)
        self.attribs[name] = value

    def intAttribValue(self, name: str, index: int = 0) -> int:  # noqa: N802
        return self.attribs[name]

    def setCommand(self, command: str) -> None:  # noqa: N802
        self.command = command

    def addExpectedOutputFile(self, path: str, tag: str, own: bool) -> None:  # noqa: N802
        self.expected.append((path, tag, own))

    def addOutputFile(self, path: str, tag: str = "", hash_code: int = 0, own: bool = False) -> None:  # noqa: N802
        self.outputs.append((path, tag, hash_code, own))


class FakeHolder:
    def __init__(self) -> None:
        self.items: list[FakeWorkItem] = []

    def addWorkItem(self, index: int = -1, parent: Any = None) -> FakeWorkItem:  # noqa: N802
        item = FakeWorkItem(index)
        self.items.append(item)
        return item


def test_generate_chunks_times_wedges(tmp_path: Path, toy_kind: str) -> None:
    job = make_toy_job(tmp_path, range(1, 11), wedges={"seed": [1, 2], "strength": [0.5]})
    holder = FakeHolder()
    items = gp.generate(holder, job, chunk_size=4, genpost="genpost")
    assert len(items) == 2 * 3  # two wedges x chunks 1-4, 5-8, 9-10
    second = items[4]
    assert second.attribs["wedgeindex"] == 1 and second.attribs["wedgecount"] == 2
    assert second.attribs["wedgenum"] == 1 and second.attribs["wedgetotal"] == 2
    assert second.attribs["seed"] == 2 and second.attribs["strength"] == 0.5
    assert second.attribs["genpost_frames"] == "5-8"
    argv = shlex.split(second.command)
    assert argv[:3] == ["genpost", "run", str(job)]
    assert argv[argv.index("--frames") + 1] == "5-8" and argv[argv.index("--wedge-index") + 1] == "1"
    out = tmp_path / "out" / "wedge_0001_seed2_strength0.5"
    assert (str(out / "toy.0005.exr"), "file/image/exr", True) in second.expected
    assert gp.wedge_from_work_item(second) == 1
    assert [i.attribs["genpost_chunk"] for i in items] == [0, 1, 2] * 2


def test_command_runs_and_outputs_registered(tmp_path: Path, toy_kind: str) -> None:
    job = make_toy_job(tmp_path, range(1, 5))
    plan = gp.plan_work_items(job, chunk_size=2)[1]
    assert plan.wedge is None and plan.frames == [3, 4]
    assert main(plan.command[1:] + ["--progress", "none"]) == 0
    item = FakeWorkItem(plan.index)
    added = gp.register_outputs(item, plan.out_dir, plan.frames)
    assert [Path(p).name for p, _ in added] == ["toy.0003.exr", "toy.0004.exr"]
    assert all(t == "file/image/exr" for _, t in added)
    assert [o[1] for o in item.outputs] == ["file/image/exr", "file/image/exr"]


def test_a_wedge_layer_is_declared_by_its_first_chunk_only(tmp_path: Path, toy_kind: str, monkeypatch) -> None:
    from genpost_houdini.jobs import registry

    layered = registry.JobKind("toy", "toyjob", registry.JOB_KINDS["toy"].params, image_name="toy", layer_name="toy.usda")
    monkeypatch.setitem(registry.JOB_KINDS, "toy", layered)
    job = make_toy_job(tmp_path, range(1, 11), wedges={"seed": [1, 2]})
    plans = gp.plan_work_items(job, chunk_size=4)
    declared = [p for plan in plans for p, _ in plan.expected_outputs]
    assert len(declared) == len(set(declared)) == 2 * (10 + 1)
    firsts = [plan for plan in plans if plan.attributes["genpost_layer"]]
    assert [plan.attributes["genpost_chunk"] for plan in firsts] == [0, 0]
    assert {Path(plan.attributes["genpost_layer"]).parent for plan in firsts} == {plan.out_dir for plan in firsts}


def test_tags() -> None:
    assert gp.output_tag("a/setext.1001.exr") == "file/image/exr"
    assert gp.output_tag("a/setext.usda") == "file/usd"
    assert gp.output_tag("a/x.usd") == "file/usd"
    assert gp.output_tag("a/x.bin") == "file"
