"""The wedge TOP's generate step: work items for frame chunks x wedges, through a fake item
holder shaped like PDG's (pdg is SideFX's and cannot be installed here)."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from genpost_houdini.errors import BadInputError
from genpost_houdini.houdini import jobs, wedge


class FakeWorkItem:
    def __init__(self, index: int, parent: Any = None) -> None:
        self.index, self.parent = index, parent
        self.attribs: dict[str, Any] = {}
        self.command = ""
        self.expected: list[tuple[str, str]] = []

    def setIntAttrib(self, name: str, value: int) -> None:  # noqa: N802 - PDG's names
        self.attribs[name] = int(value)

    def setFloatAttrib(self, name: str, value: float) -> None:  # noqa: N802
        self.attribs[name] = float(value)

    def setStringAttrib(self, name: str, value: str) -> None:  # noqa: N802
        self.attribs[name] = str(value)

    def setCommand(self, command: str) -> None:  # noqa: N802
        self.command = command

    def addExpectedOutputFile(self, path: str, tag: str, own: bool = True) -> None:  # noqa: N802
        self.expected.append((path, tag))


class FakeItemHolder:
    def __init__(self) -> None:
        self.items: list[FakeWorkItem] = []

    def addWorkItem(self, index: int = 0, parent: Any = None, **_: Any) -> FakeWorkItem:  # noqa: N802
        item = FakeWorkItem(index, parent)
        self.items.append(item)
        return item


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


def test_work_items_are_chunks_times_wedges_with_tags(job_file):
    holder = FakeItemHolder()
    values = {"jobfile": str(job_file), "seeds": "1,2", "prompts": "", "strengths": "0.5,0.7,0.9",
              "chunksize": 4, "frames": ""}
    items = wedge.add_work_items(holder, values, genpost="/opt/genpost/bin/genpost")
    assert len(items) == 6 * 3  # 2 seeds x 3 strengths, frames 1001-1010 in chunks of 4 (4+4+2)
    wedge_indices = sorted({i.attribs["wedgeindex"] for i in items})
    assert wedge_indices == list(range(6)) and {i.attribs["wedgecount"] for i in items} == {6}
    first = items[0]
    argv = shlex.split(first.command)
    assert argv[:2] == ["/opt/genpost/bin/genpost", "run"] and "--wedge-index" in argv and "--frames" in argv
    tags = {tag for _, tag in first.expected}
    assert tags == {"file/image/exr", "file/usd"}
    exrs = [p for p, t in first.expected if t == "file/image/exr"]
    assert len(exrs) == 4 and exrs[0].endswith("setext.1001.exr")
    # each wedge writes its own folder
    folders = {i.attribs["genpost_out"] for i in items}
    assert len(folders) == 6


def test_upstream_items_become_parents(job_file):
    holder = FakeItemHolder()
    parents = ["upstream0", "upstream1"]
    items = wedge.add_work_items(holder, {"jobfile": str(job_file), "chunksize": 10, "seeds": "", "prompts": "",
                                          "strengths": "", "frames": "1001-1005"},
                                 upstream_items=parents, genpost="genpost")
    assert [i.parent for i in items] == parents


def test_missing_job_file_is_named(tmp_path):
    with pytest.raises(BadInputError, match="nope.json"):
        wedge.add_work_items(FakeItemHolder(), {"jobfile": str(tmp_path / "nope.json")}, genpost="genpost")
    with pytest.raises(BadInputError, match="Job File"):
        wedge.add_work_items(FakeItemHolder(), {"jobfile": ""}, genpost="genpost")


def test_work_items_need_a_single_executable(tmp_path):
    with pytest.raises(BadInputError, match="genpost houdini setup"):
        wedge.genpost_executable({"GENPOST_PYTHON": "/x/python", "GENPOST_CONFIG_DIR": str(tmp_path)})
