"""Declarative asset sources (``hda/*.toml``): loading and validation.

One file describes one operator: its type name, table (context), label, icon, inputs, TAB-menu
submenu, help card, parameters in folders, callbacks, and either the glue function a Python-type
operator's cook calls (``cook``) or, for a subnet asset (contexts whose nodes cannot be
Python-type: TOP, Copernicus COP), the inner network (``[[node]]`` tables) whose code parameters
hold a one-line call into the glue. Functions are named ``"module.path:function"`` and must live
in ``genpost_houdini.houdini`` (the only package allowed to import hou).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BadInputError
from .names import TABLES, split_type_name

PARM_TYPES = ("string", "file", "image", "directory", "integer", "float", "toggle", "button", "label", "vector")
#: Parameter types with several components, and how many (Houdini writes ``size N`` for them;
#: SideFX Labs otls/box_clip.hda/labs_8_8Sop_1box__clip/DialogScript: ``type vector``,
#: ``size 3``, ``default { "0" "0" "0" }``). Read in Houdini with ``node.parmTuple(name)``.
PARM_SIZES = {"vector": 3}
MENU_KINDS = ("menu", "menureplace", "menutoggle")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_FUNC_RE = re.compile(r"^genpost_houdini\.houdini(\.[a-z_][a-z0-9_]*)+:[a-z_][a-z0-9_]*$")


class SpecError(BadInputError):
    """An HDA source file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class ParmSpec:
    name: str
    label: str
    type: str
    default: tuple[str, ...] = ()
    default_expr: str = ""
    range: tuple[float, float] | None = None
    strict_min: bool = False
    strict_max: bool = False
    menu: tuple[tuple[str, str], ...] = ()
    menu_script: str = ""
    menu_kind: str = "menu"
    help: str = ""
    hidewhen: str = ""
    disablewhen: str = ""
    callback: str = ""
    joinnext: bool = False
    file_pattern: str = ""
    prim_picker: bool = False
    multiline: bool = False
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FolderSpec:
    name: str
    label: str
    parms: tuple[ParmSpec, ...]
    collapsible: bool = False


@dataclass(frozen=True)
class ExprSpec:
    """A parameter of an inner node driven by a channel expression (written to ``.chn``).

    Either ``hscript`` (an hscript expression such as ``ch("../seed")``) or ``glue`` (a function
    in genpost_houdini.houdini called as a Python expression with the asset node,
    ``hou.pwd().parent()``; AYON ``ayon::Lop/load_shot::1.0`` drives its Error LOP's message
    this way). ``string``: the parameter holds text (``defaultString`` channel) not a number.
    """

    parm: str
    hscript: str = ""
    glue: str = ""
    string: bool = False


@dataclass(frozen=True)
class NodeSpec:
    """One node of a subnet asset's inner network.

    ``inputs``: per input, ``"(N)"`` for the asset's input N, or the name of an inner node
    (``"name:K"`` for its output K; default output 0).
    ``parms``: base parameter values as Houdini writes them in .parm (TOML strings arrive quoted,
    numbers bare). ``code_parm`` receives
    a short script calling ``glue(glue_args)`` (``return`` first when ``glue_return``);
    ``bind_lines`` are comment lines placed above it. ``spare``: asset parameters copied onto this
    node as spare parameters whose values reference the asset's (``chs("../name")``).
    """

    name: str
    type: str
    inputs: tuple[str, ...] = ()
    position: tuple[float, float] = (0.0, 0.0)
    display: bool = False
    parms: tuple[tuple[str, str], ...] = ()
    code_parm: str = ""
    glue: str = ""
    glue_args: str = ""
    glue_return: bool = False
    bind_lines: tuple[str, ...] = ()
    spare: tuple[str, ...] = ()
    exprs: tuple[ExprSpec, ...] = ()
    #: Names of the node's input connectors (default ``input1``...) and of its outputs (default
    #: one output, ``output1``); a Copernicus ``input`` node has one output per asset input.
    input_names: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ("output1",)

    def input_name(self, i: int) -> str:
        return self.input_names[i] if i < len(self.input_names) else f"input{i + 1}"


#: Copernicus layer types an asset's signature may name (Houdini-written ``Cop`` asset
#: deferred_diffusion::Cop/image: ``signature default Default { RGBA Mono ... } { RGBA }``).
COP_LAYER_TYPES = ("Mono", "UV", "RGB", "RGBA")


@dataclass(frozen=True)
class AssetSpec:
    source: Path
    type_name: str
    table: str
    label: str
    icon: str
    library: str
    inputs: tuple[int, int]
    input_labels: tuple[str, ...]
    submenu: str
    cook: str
    summary: str
    help: str
    folders: tuple[FolderSpec, ...]
    min_houdini: str = "20.5"
    nodes: tuple[NodeSpec, ...] = ()
    #: Copernicus signature: (port name, layer type) of each input and output.
    cop_inputs: tuple[tuple[str, str], ...] = ()
    cop_outputs: tuple[tuple[str, str], ...] = ()

    @property
    def otls_dir(self) -> str:
        """Folder (relative to the package root) the library is written to: ``otls`` for
        assets every supported Houdini loads, ``houdini<major>/otls`` for those that need a later
        one (package.json adds that folder to HOUDINI_PATH only from that version on)."""
        major = int(self.min_houdini.split(".")[0])
        return "otls" if major <= 20 else f"houdini{major}/otls"

    @property
    def is_subnet(self) -> bool:
        """A subnet asset (inner network in Contents) rather than a Python-type operator."""
        return bool(self.nodes)

    def parm(self, name: str) -> ParmSpec:
        for folder in self.folders:
            for parm in folder.parms:
                if parm.name == name:
                    return parm
        raise KeyError(name)

    @property
    def short_name(self) -> str:
        return split_type_name(self.type_name)[1]

    def functions(self) -> list[str]:
        """Glue functions referenced by callbacks and menus, in first-use order, no repeats."""
        seen: list[str] = []
        for folder in self.folders:
            for parm in folder.parms:
                for ref in (parm.callback, parm.menu_script):
                    if ref and ref not in seen:
                        seen.append(ref)
        return seen

    def glue_refs(self) -> list[str]:
        """Every glue function the asset's code reaches: callbacks, menus, inner code, expressions."""
        refs = list(self.functions())
        for node in self.nodes:
            refs += [node.glue] if node.glue else []
            refs += [e.glue for e in node.exprs if e.glue]
        return list(dict.fromkeys(refs))


def _want(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = ...) -> Any:
    if key not in data:
        if default is ...:
            raise SpecError(f"{where}: missing field '{key}'")
        return default
    value = data[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise SpecError(f"{where}: field '{key}' has the wrong type ({type(value).__name__})")
    return value


def _check_func(ref: str, where: str) -> str:
    if ref and not _FUNC_RE.match(ref):
        raise SpecError(f"{where}: '{ref}' must be 'genpost_houdini.houdini.<module>:<function>'")
    return ref


def _default_strings(value: Any, where: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if isinstance(v, bool):
            out.append("1" if v else "0")
        elif isinstance(v, (int, float, str)):
            out.append(str(v))
        else:
            raise SpecError(f"{where}: default {v!r} is not a string, number or bool")
    return tuple(out)


_PARM_KEYS = {
    "name", "label", "type", "default", "default_expr", "range", "strict_min", "strict_max", "menu",
    "menu_script", "menu_kind", "help", "hidewhen", "disablewhen", "callback", "joinnext",
    "file_pattern", "prim_picker", "multiline", "tags",
}


def _parm(data: dict[str, Any], where: str) -> ParmSpec:
    unknown = sorted(set(data) - _PARM_KEYS)
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(unknown)}")
    name = _want(data, "name", str, where)
    where = f"{where} '{name}'"
    if not _NAME_RE.match(name):
        raise SpecError(f"{where}: parameter name must be lower case letters, digits, '_'")
    ptype = _want(data, "type", str, where)
    if ptype not in PARM_TYPES:
        raise SpecError(f"{where}: type '{ptype}' is not one of {', '.join(PARM_TYPES)}")
    rng = _want(data, "range", list, where, None)
    if rng is not None and (len(rng) != 2 or not all(isinstance(v, (int, float)) for v in rng)):
        raise SpecError(f"{where}: range must be [min, max]")
    menu = _want(data, "menu", list, where, [])
    if any(not (isinstance(m, list) and len(m) == 2 and all(isinstance(s, str) for s in m)) for m in menu):
        raise SpecError(f"{where}: menu must be a list of [token, label] pairs")
    menu_kind = _want(data, "menu_kind", str, where, "menu")
    if menu_kind not in MENU_KINDS:
        raise SpecError(f"{where}: menu_kind must be one of {', '.join(MENU_KINDS)}")
    menu_script = _check_func(_want(data, "menu_script", str, where, ""), where)
    if menu and menu_script:
        raise SpecError(f"{where}: give either menu or menu_script, not both")
    tags = _want(data, "tags", dict, where, {})
    default = _default_strings(data["default"], where) if "default" in data else ()
    size = PARM_SIZES.get(ptype, 1)
    if size > 1 and len(default) not in (0, size):
        raise SpecError(f"{where}: a {ptype} default has {size} values, got {len(default)}")
    if size == 1 and len(default) > 1:
        raise SpecError(f"{where}: a {ptype} default is one value, got {len(default)}")
    if size > 1 and (menu or menu_script or data.get("default_expr")):
        raise SpecError(f"{where}: a {ptype} takes neither a menu nor a default expression")
    return ParmSpec(
        name=name,
        label=_want(data, "label", str, where),
        type=ptype,
        default=default,
        default_expr=_want(data, "default_expr", str, where, ""),
        range=(float(rng[0]), float(rng[1])) if rng is not None else None,
        strict_min=_want(data, "strict_min", bool, where, False),
        strict_max=_want(data, "strict_max", bool, where, False),
        menu=tuple((m[0], m[1]) for m in menu),
        menu_script=menu_script,
        menu_kind=menu_kind,
        help=_want(data, "help", str, where, "").strip(),
        hidewhen=_want(data, "hidewhen", str, where, ""),
        disablewhen=_want(data, "disablewhen", str, where, ""),
        callback=_check_func(_want(data, "callback", str, where, ""), where),
        joinnext=_want(data, "joinnext", bool, where, False),
        file_pattern=_want(data, "file_pattern", str, where, ""),
        prim_picker=_want(data, "prim_picker", bool, where, False),
        multiline=_want(data, "multiline", bool, where, False),
        tags=tuple(sorted((str(k), str(v)) for k, v in tags.items())),
    )


_ASSET_KEYS = {
    "type", "table", "label", "icon", "library", "inputs", "input_labels", "submenu", "cook",
    "summary", "help", "min_houdini", "folder", "node", "signature",
}
_NODE_KEYS = {
    "name", "type", "inputs", "position", "display", "parms", "code_parm", "glue", "glue_args",
    "glue_return", "bind_lines", "spare", "expr", "input_names", "output_names",
}
_EXPR_KEYS = {"parm", "hscript", "glue", "string"}
_NODE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INPUT_REF_RE = re.compile(r"^\((\d+)\)$")
_NODE_REF_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::(\d+))?$")


def split_input_ref(ref: str) -> tuple[str, int]:
    """``"name"`` -> (name, 0); ``"name:2"`` -> (name, 2). ``"(N)"`` refs are not node refs."""
    m = _NODE_REF_RE.match(ref)
    if not m:
        raise ValueError(f"input {ref!r} is neither '(N)' nor 'node[:output]'")
    return m.group(1), int(m.group(2) or 0)


def _expr(data: Any, where: str) -> ExprSpec:
    if not isinstance(data, dict):
        raise SpecError(f"{where}: each [[node.expr]] is a table")
    unknown = sorted(set(data) - _EXPR_KEYS)
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(unknown)}")
    parm = _want(data, "parm", str, where)
    hscript = _want(data, "hscript", str, where, "")
    glue = _check_func(_want(data, "glue", str, where, ""), where)
    if bool(hscript) == bool(glue):
        raise SpecError(f"{where} '{parm}': give either hscript or glue")
    return ExprSpec(parm, hscript, glue, _want(data, "string", bool, where, False))


def _node(data: dict[str, Any], where: str, asset_parms: set[str], n_inputs: int) -> NodeSpec:
    unknown = sorted(set(data) - _NODE_KEYS)
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(unknown)}")
    name = _want(data, "name", str, where)
    where = f"{where} '{name}'"
    if not _NODE_NAME_RE.match(name):
        raise SpecError(f"{where}: node name must be letters, digits, '_'")
    ntype = _want(data, "type", str, where)
    if not _NODE_NAME_RE.match(ntype.replace("::", "_").replace(".", "_")):
        raise SpecError(f"{where}: node type '{ntype}' is not a Houdini type name")
    inputs = tuple(_want(data, "inputs", list, where, []))
    for ref in inputs:
        m = _INPUT_REF_RE.match(str(ref))
        if m and int(m.group(1)) >= n_inputs:
            raise SpecError(f"{where}: input '{ref}' but the asset has {n_inputs} input(s)")
    position = _want(data, "position", list, where, [0, 0])
    if len(position) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position):
        raise SpecError(f"{where}: position must be [x, y]")
    parms = _want(data, "parms", dict, where, {})
    spare = tuple(_want(data, "spare", list, where, []))
    missing = [p for p in spare if p not in asset_parms]
    if missing:
        raise SpecError(f"{where}: spare parameter(s) {', '.join(missing)} are not one-value parameters of the asset")
    code_parm = _want(data, "code_parm", str, where, "")
    glue = _check_func(_want(data, "glue", str, where, ""), where)
    if bool(code_parm) != bool(glue):
        raise SpecError(f"{where}: give both code_parm and glue, or neither")
    exprs = tuple(_expr(e, f"{where} expr[{i}]") for i, e in enumerate(_want(data, "expr", list, where, [])))
    driven = [e.parm for e in exprs]
    clash = sorted({p for p in driven if driven.count(p) > 1} | (set(driven) & set(parms)))
    if clash:
        raise SpecError(f"{where}: parameter(s) {', '.join(clash)} given twice (parms and expr)")
    return NodeSpec(
        name=name,
        type=ntype,
        inputs=tuple(str(i) for i in inputs),
        position=(float(position[0]), float(position[1])),
        display=_want(data, "display", bool, where, False),
        # TOML order: a multiparm count must come before its numbered instances (as Houdini saves them).
        parms=tuple((str(k), _node_parm_value(v, where)) for k, v in parms.items()),
        code_parm=code_parm,
        glue=glue,
        glue_args=_want(data, "glue_args", str, where, ""),
        glue_return=_want(data, "glue_return", bool, where, False),
        bind_lines=tuple(str(v) for v in _want(data, "bind_lines", list, where, [])),
        spare=tuple(str(v) for v in spare),
        exprs=exprs,
        input_names=tuple(str(v) for v in _want(data, "input_names", list, where, [])),
        output_names=tuple(str(v) for v in _want(data, "output_names", list, where, ["output1"])),
    )


def _node_parm_value(value: Any, where: str) -> str:
    """A TOML string is written quoted (menu tokens, text), a number bare: Houdini's .parm style."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SpecError(f"{where}: parms values must be strings (quoted in .parm) or numbers (bare)")
    return ('"' + value + '"') if isinstance(value, str) else str(value)


def _check_network(nodes: tuple[NodeSpec, ...], where: str) -> None:
    names = [n.name for n in nodes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SpecError(f"{where}: inner node name(s) {', '.join(dupes)} used twice")
    by_name = {n.name: n for n in nodes}
    for node in nodes:
        for ref in node.inputs:
            if _INPUT_REF_RE.match(ref):
                continue
            m = _NODE_REF_RE.match(ref)
            if not m or m.group(1) not in by_name:
                raise SpecError(f"{where}: node '{node.name}' input '{ref}' is neither '(N)' nor an inner node")
            if int(m.group(2) or 0) >= len(by_name[m.group(1)].output_names):
                raise SpecError(f"{where}: node '{node.name}' input '{ref}': that node has "
                                f"{len(by_name[m.group(1)].output_names)} output(s)")
    if sum(n.display for n in nodes) != 1:
        raise SpecError(f"{where}: exactly one inner node must have display = true (the subnet's output)")


def load_spec(path: str | Path) -> AssetSpec:
    """Read and validate one ``hda/*.toml`` source; raise :class:`SpecError` naming file and field."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"{path}: cannot read HDA source: {exc}") from exc
    where = str(path)
    unknown = sorted(set(data) - _ASSET_KEYS)
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(unknown)}")
    type_name = _want(data, "type", str, where)
    try:
        split_type_name(type_name)
    except ValueError as exc:
        raise SpecError(f"{where}: {exc}") from exc
    table = _want(data, "table", str, where)
    if table not in TABLES:
        raise SpecError(f"{where}: table '{table}' is not one of {', '.join(TABLES)}")
    inputs = _want(data, "inputs", list, where)
    if len(inputs) != 2 or not all(isinstance(v, int) and v >= 0 for v in inputs) or inputs[0] > inputs[1]:
        raise SpecError(f"{where}: inputs must be [min, max]")
    library = _want(data, "library", str, where)
    if not library.endswith(".hda") or "/" in library:
        raise SpecError(f"{where}: library must be a file name ending .hda")
    names: set[str] = set()
    folders = []
    for i, fdata in enumerate(_want(data, "folder", list, where)):
        fwhere = f"{where} folder[{i}]"
        fname = _want(fdata, "name", str, fwhere)
        parms = tuple(_parm(p, f"{fwhere} parm") for p in _want(fdata, "parm", list, fwhere))
        for p in parms:
            if p.name in names:
                raise SpecError(f"{fwhere}: parameter '{p.name}' defined twice")
            names.add(p.name)
        folders.append(
            FolderSpec(fname, _want(fdata, "label", str, fwhere), parms, _want(fdata, "collapsible", bool, fwhere, False))
        )
    node_tables = _want(data, "node", list, where, [])
    # Spare copies hold one value (``chs("../name")``): parameters of several components are not offered.
    single = {p.name for f in folders for p in f.parms if PARM_SIZES.get(p.type, 1) == 1}
    nodes = tuple(_node(n, f"{where} node[{i}]", single, inputs[1]) for i, n in enumerate(node_tables))
    if nodes:
        _check_network(nodes, where)
    if nodes and "cook" in data:
        raise SpecError(f"{where}: a subnet asset ([[node]] tables) has no 'cook'; the inner nodes call the glue")
    if not nodes and "cook" not in data:
        raise SpecError(f"{where}: missing field 'cook' (or [[node]] tables for a subnet asset)")
    signature = _want(data, "signature", dict, where, {})
    ports: dict[str, tuple[tuple[str, str], ...]] = {}
    for key in ("inputs", "outputs"):
        entries = signature.get(key, [])
        if any(not (isinstance(e, list) and len(e) == 2 and e[1] in COP_LAYER_TYPES) for e in entries):
            raise SpecError(f"{where}: signature.{key} must be [name, type] pairs, type one of {', '.join(COP_LAYER_TYPES)}")
        ports[key] = tuple((str(e[0]), str(e[1])) for e in entries)
    if signature and (table != "Cop" or len(ports["inputs"]) != inputs[1]):
        raise SpecError(f"{where}: a signature belongs to a Copernicus (Cop) asset and names each of its inputs")
    min_houdini = _want(data, "min_houdini", str, where, "20.5")
    if not re.fullmatch(r"\d+\.\d+", min_houdini):
        raise SpecError(f"{where}: min_houdini must be 'MAJOR.MINOR', got {min_houdini!r}")
    return AssetSpec(
        source=path,
        type_name=type_name,
        table=table,
        label=_want(data, "label", str, where),
        icon=_want(data, "icon", str, where),
        library=library,
        inputs=(inputs[0], inputs[1]),
        input_labels=tuple(_want(data, "input_labels", list, where, [])),
        submenu=_want(data, "submenu", str, where),
        cook=_check_func(_want(data, "cook", str, where, ""), where),
        summary=_want(data, "summary", str, where).strip(),
        help=_want(data, "help", str, where).strip(),
        folders=tuple(folders),
        min_houdini=min_houdini,
        nodes=nodes,
        cop_inputs=ports.get("inputs", ()),
        cop_outputs=ports.get("outputs", ()),
    )


def load_specs(src_dir: str | Path) -> list[AssetSpec]:
    """Every ``*.toml`` in ``src_dir``, sorted by file name; duplicate type names refused."""
    src_dir = Path(src_dir)
    if not src_dir.is_dir():
        raise SpecError(f"{src_dir}: HDA source folder not found")
    specs = [load_spec(p) for p in sorted(src_dir.glob("*.toml"))]
    seen: dict[tuple[str, str], Path] = {}
    for s in specs:
        key = (s.table, s.type_name)
        if key in seen:
            raise SpecError(f"{s.source}: {s.type_name} ({s.table}) already defined in {seen[key]}")
        seen[key] = s.source
    libs: dict[str, Path] = {}
    for s in specs:
        if s.library in libs:
            raise SpecError(f"{s.source}: library {s.library} already used by {libs[s.library]}")
        libs[s.library] = s.source
    return specs
