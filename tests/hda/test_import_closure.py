"""Everything the assets run imports only what Houdini's own Python has.

The code blocks are read from the built libraries (otls/ and houdiniNN/otls/): PythonModule and
PythonCook sections, DialogScript callbacks, menu scripts and actions, Tools.shelf scripts, the
code parameters of inner nodes in Contents.mime (Python Script LOP ``python``, Python Processor
callbacks, Python Snippet ``pythoncode``) and their Python channel expressions. Every import in
them, module-level or inside functions, is followed through genpost_houdini's own modules
(statically: nothing is imported) until it leaves the package. What it reaches must be the
standard library or a module Houdini ships (HOUDINI_MODULES, each with the Houdini-written file
that imports it). The model side (``generators/``, ``runtime/``) is exempt: nodes activate the
model environment before importing it (``houdini.env.activate_model_env``).
"""

from __future__ import annotations

import ast
import email
import email.policy
import re
import sys
from pathlib import Path

import pytest

from genpost_houdini.hdabuild.dsparse import parse_dialog_script

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "genpost_houdini"
LIBRARIES = sorted([*ROOT.glob("otls/*.hda"), *ROOT.glob("houdini[0-9]*/otls/*.hda")])

#: Modules Houdini ships beside the standard library, with a Houdini-written file importing each.
HOUDINI_MODULES = {
    "hou": "every asset; e.g. ynput/ayon-houdini ayon_lop_mute_layers.hda Contents.mime (pythonscript LOP)",
    "pdg": "sideeffects/SideFXLabs otls/archive_project.1.0.hda/labs_8_8Top_1archive__project_8_81.0/PythonModule",
    "pxr": "ynput/ayon-houdini ayon_lop_mute_layers.hda Contents.mime (`from pxr import Sdf` in a pythonscript LOP)",
    "numpy": "sideeffects/SideFXLabs otls/2d_wavefunctioncollapse.1.1.hda/.../Contents.dir/Contents.mime",
    "PySide2": "sideeffects/SideFXLabs otls/av_initialize.hda/labs_8_8Sop_1av__initialize/PythonModule",
    "loputils": "sideeffects/SideFXLabs otls/karma_aovs_for_prman_denoiser.1.0.hda/.../Contents.dir/Contents.mime; "
                "types-houdini hou.LopNode.addSubLayer's example",
    "loptoolutils": "ynput/ayon-houdini ayon_lop_mute_layers.hda/ayon_8_8Lop_1mute__layers_8_81.0/Tools.shelf",
    "soptoolutils": "sideeffects/SideFXLabs otls/2d_wavefunctioncollapse.1.1.hda/.../Tools.shelf",
    "toptoolutils": "sideeffects/SideFXLabs otls/archive_project.1.0.hda/labs_8_8Top_1archive__project_8_81.0/Tools.shelf",
    "coptoolutils": "JoeGaffney/deferred-diffusion clients/houdini/cop_image.hda (Tools.shelf, Houdini 20.5.487)",
}
#: genpost_houdini subpackages the nodes reach only after activating the model environment.
EXEMPT = ("genpost_houdini.generators", "genpost_houdini.runtime")
ALLOWED = set(sys.stdlib_module_names) | {"__future__"} | set(HOUDINI_MODULES)

#: Code parameters of the inner node types (SideFX Labs Python Processor, AYON Python Script LOP,
#: Houdini 21's Python Snippet COP).
CODE_PARMS = {"pythonprocessor": ("generate", "regeneratestatic", "addinternaldependencies", "cooktask"),
              "pythonscript": ("python",), "pythonsnippet": ("pythoncode",)}


def _as_function(code: str) -> str:
    """Callbacks, menu scripts and expressions may ``return`` at top level: parse them as a body."""
    return "def _block():\n" + "".join(f"    {line}\n" for line in code.splitlines()) + "    pass\n"


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def code_blocks() -> list[tuple[str, str]]:
    """(where, Python code) of everything the built assets run."""
    blocks: list[tuple[str, str]] = []
    for lib in LIBRARIES:
        for op in (p for p in lib.iterdir() if p.is_dir()):
            where = f"{lib.relative_to(ROOT)}/{op.name}"
            for section in ("PythonModule", "PythonCook"):
                if (op / section).is_file():
                    blocks.append((f"{where}/{section}", (op / section).read_text()))
            ds = parse_dialog_script((op / "DialogScript").read_text())
            for parm in ds["parms"]:
                for key in ("script_callback", "script_action"):
                    if parm["tags"].get(key):
                        blocks.append((f"{where}/DialogScript {parm['name']} {key}", parm["tags"][key]))
                for code in parm["menu_script"]:
                    blocks.append((f"{where}/DialogScript {parm['name']} menu", code))
            shelf = (op / "Tools.shelf").read_text()
            for script in re.findall(r'<script scriptType="python"><!\[CDATA\[(.*?)\]\]></script>', shelf, re.S):
                blocks.append((f"{where}/Tools.shelf", script.replace("$HDA_NAME", "x")))
            mime = op / "Contents.dir" / "Contents.mime"
            if mime.is_file():
                blocks += _inner_blocks(f"{where}/Contents.mime", mime.read_bytes())
    return blocks


def _inner_blocks(where: str, raw: bytes) -> list[tuple[str, str]]:
    parts = {p.get_filename(): p.get_payload() for p in
             email.message_from_bytes(raw, policy=email.policy.compat32).get_payload()}
    blocks = []
    for name, text in parts.items():
        if name.endswith(".init"):
            node = name[: -len(".init")]
            node_type = re.search(r"^type = (\S+)", text, re.M).group(1)
            values = dict(re.findall(r'^(\w+)\t\[ 0\tlocks=0 \]\t\(\t"((?:[^"\\]|\\.)*)"\t\)$',
                                     parts.get(f"{node}.parm", ""), re.S | re.M))
            for parm in CODE_PARMS.get(node_type, ()):
                if parm in values:
                    blocks.append((f"{where} {node} {parm}", _unescape(values[parm])))
        elif name.endswith(".chn"):
            for channel, expr in re.findall(r'channel (\w+) \{.*?expr = "((?:[^"\\]|\\.)*)" language = python', text, re.S):
                blocks.append((f"{where} {name} {channel}", _unescape(expr)))
    return blocks


def _module_file(module: str) -> Path | None:
    rel = Path(*module.split("."))
    for candidate in (ROOT / rel.with_suffix(".py"), ROOT / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(tree: ast.AST, module: str, is_package: bool) -> list[str]:
    """Absolute names of every import in ``tree`` (inside functions too), except under
    ``if TYPE_CHECKING:``; ``from X import name`` also yields ``X.name`` (it may be a module)."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                base = parts if is_package else parts[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.append(prefix)
            found.extend(f"{prefix}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def closure(blocks: list[tuple[str, str]]) -> tuple[set[str], dict[str, str]]:
    """(genpost modules reached, {outside module: who imports it})."""
    reached: set[str] = set()
    outside: dict[str, str] = {}
    queue: list[tuple[str, str]] = []
    for where, code in blocks:
        queue += [(name, where) for name in _imports(ast.parse(_as_function(code), where), "__asset__", False)]
    while queue:
        name, by = queue.pop()
        top = name.split(".")[0]
        if top != "genpost_houdini":
            if top not in outside:
                outside[top] = f"{name} (imported by {by})"
            continue
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
            mod = ".".join(parts[:i])
            path = _module_file(mod)
            if path is None or mod in reached:
                continue
            reached.add(mod)
            if mod.startswith(EXEMPT):
                continue
            tree = ast.parse(path.read_text(), str(path))
            queue += [(n, mod) for n in _imports(tree, mod, path.name == "__init__.py")]
    return reached, outside


def test_the_asset_code_is_found():
    blocks = code_blocks()
    wheres = " ".join(w for w, _ in blocks)
    for expected in ("genpost_wedge_top.hda", "genpost_set_extension.hda", "genpost_crowd_replicate.hda",
                     "genpost_generate_cop.hda", "genpost_generate_sop.hda", "PythonModule", "Tools.shelf",
                     "generate_work_items generate", "register_outputs generate", "generate_snippet pythoncode",
                     "load_layer.chn filepath1", "warn_missing_output.chn errormsg1", "script_callback"):
        assert expected in wheres, expected


def test_import_closure_stays_inside_houdinis_python():
    reached, outside = closure(code_blocks())
    for module in ("genpost_houdini.houdini.lop", "genpost_houdini.houdini.wedge", "genpost_houdini.farm.pdg",
                   "genpost_houdini.farm.jobfile", "genpost_houdini.jobs.registry", "genpost_houdini.houdini.cop",
                   "genpost_houdini.houdini.process", "genpost_houdini.jobs.manifestfile"):
        assert module in reached, f"{module} is not reached: the walk misses the assets' imports"
    for writer in ("genpost_houdini.jobs.workunit", "genpost_houdini.farm.workunit"):
        assert writer not in reached  # the locking writer (filelock) stays out
    bad = {top: why for top, why in outside.items() if top not in ALLOWED}
    assert not bad, "imports outside Houdini's Python:\n" + "\n".join(f"  {k}: {v}" for k, v in sorted(bad.items()))


def test_the_walk_catches_a_third_party_import():
    """The walker on real modules: the manifest writer needs filelock, which Houdini lacks."""
    _, outside = closure([("probe", "from genpost_houdini.jobs import workunit")])
    assert "filelock" in outside and "genpost_houdini.jobs.workunit" in outside["filelock"]
    _, outside = closure([("probe", "def f():\n    import yaml\n")])
    assert "yaml" in outside
    reached, outside = closure([("probe", "from genpost_houdini.generators import registry")])
    assert "genpost_houdini.generators.registry" in reached and not set(outside) - ALLOWED  # exempt: not followed


@pytest.mark.parametrize("module", sorted(HOUDINI_MODULES))
def test_every_allowed_houdini_module_names_its_evidence(module):
    assert module not in sys.stdlib_module_names and len(HOUDINI_MODULES[module]) > 20
