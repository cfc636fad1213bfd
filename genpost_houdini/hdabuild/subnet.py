"""The inner network of a subnet asset as Houdini stores it expanded: ``Contents.dir/``.

Houdini lists ``Contents.gz`` in the operator's Sections.list and, in an expanded library, keeps
it as the folder ``Contents.dir/`` holding ``Sections.list`` and ``Contents.mime``: a MIME
multipart whose parts are the network in hscript form -- ``node_type`` (the table),
``hdaroot.init/.def/.userdata/.inp``, then per child ``hdaroot/<name>.init``, ``.def``,
``[.spareparmdef]``, ``[.chn]``, ``.parm``, ``.userdata``, and last ``hdaroot.order`` and
``hdaroot.net``.

Shapes mirrored from Houdini-written assets read in public repositories (Bismuth MLOPs
``mlops::Top/dataset_create::1.0`` and ``pix2pix_hd_train``, SideFX Labs
``labs::Top/concatenate_text::1.0``, AYON ``ayon::Lop/mute_layers::1.0``): the boundary string,
part headers, the ``.init`` and ``.def`` layout, ``.parm`` lines ``name [ 0 locks=0 ] ( values )``,
string parameters that follow the asset's through `` `chs("../name")` ``, numeric ones through a
``.chn`` channel whose expression is ``ch("../name")``, and ``.spareparmdef`` in DialogScript
syntax. Inferred, not seen in a stored file: the text of ``Contents.dir/Sections.list`` (the
index holds none; it is written like every other Sections.list), and writing only the ``.parm``
values we set (Houdini writes every parameter; the others take their defaults on load).
"""

from __future__ import annotations

from .names import split_type_name
from .render import ds_quote
from .spec import AssetSpec, ExprSpec, NodeSpec, ParmSpec, split_input_ref

#: The boundary every Houdini-written Contents.mime we read uses (MLOPs, SideFX Labs, AYON).
BOUNDARY = "HOUDINIMIMEBOUNDARY0xD3ADD339-0x00000F49-0x56B122C9-0x00000001HOUDINIMIMEBOUNDARY"

#: ``stat`` author written into every .def (Houdini writes user@host; a constant keeps builds stable).
AUTHOR = "genpost@hdabuild"

_FLAGS = ("lock", "model", "template", "footprint", "xray", "bypass", "display", "render", "highlight",
          "unload", "savedata", "compress")

_NUMERIC = ("integer", "float", "toggle")

#: Base-parameter layout of a Python Processor TOP as SideFX Labs' concatenate_text saves it in
#: its .spareparmdef (spare parameters follow it). Base parameters a newer Houdini adds and this
#: layout does not name stay on the node; Houdini may hide them in this node's dialog.
_BASE_LAYOUTS: dict[str, str] = {
    "pythonprocessor": """\
    parm {
        name    "savenodescript"
        baseparm
        label   "Save to Python Script"
        joinnext
        export  none
    }
    parm {
        name    "savenodehda"
        baseparm
        label   "Save to Digital Asset"
        export  none
    }
    parm {
        name    "sepparm2"
        baseparm
        label   "Separator"
        export  none
    }
    group {
        name    "processor4"
        label   "Processor"

        parm {
            name    "pdg_workitemgeneration"
            baseparm
            label   "Generate When"
            export  none
        }
        parm {
            name    "pdg_command"
            baseparm
            label   "Command"
            export  none
        }
        parm {
            name    "sepparm"
            baseparm
            label   "Separator"
            export  none
        }
        group {
            name    "callbacks5"
            label   "Generate"

            parm {
                name    "generate"
                baseparm
                label   "onGenerate Callback"
                export  none
            }
        }

        group {
            name    "callbacks5_1"
            label   "Regenerate"

            parm {
                name    "useregeneratestatic"
                baseparm
                label   "Use Custom Regenerate Implementation"
                export  none
            }
            parm {
                name    "regeneratestatic"
                baseparm
                label   "onRegenerate Callback"
                export  none
            }
        }

        group {
            name    "callbacks5_2"
            label   "Add Internal Dependencies"

            parm {
                name    "addinternaldependencies"
                baseparm
                label   "onAddInternalDependencies Callback"
                export  none
            }
        }

        group {
            name    "callbacks5_3"
            label   "Cook Task"

            parm {
                name    "cooktask"
                baseparm
                label   "onCookTask Callback"
                export  none
            }
        }

    }

    group {
        name    "processor4_1"
        label   "Files"

        multiparm {
            name    "pdgnodedeps"
            label    "File Dependencies"
            baseparm
            default 1

            parm {
                name    "pdgnodedep#"
                baseparm
                label   "File Path"
                export  none
            }
        }

    }

    group {
        name    "processor4_2"
        label   "Schedulers"

        parm {
            name    "topscheduler"
            baseparm
            label   "TOP Scheduler Override"
            joinnext
            export  none
        }
        parm {
            name    "addjobparms"
            baseparm
            label   "Add Job Parms"
            nolabel
            export  none
        }
        parm {
            name    "pdg_workitempriority"
            baseparm
            label   "Work Item Priority"
            export  none
        }
        parm {
            name    "pdg_workitempriorityexpr"
            baseparm
            label   "Priority Expression"
            export  none
        }
    }

""",
}


def hscript_escape(text: str) -> str:
    """Backslashes and double quotes escaped, as inside a .parm or .chn value."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def parm_value(text: str) -> str:
    """One .parm value: bare when it has no blanks, else double-quoted (newlines stay literal)."""
    esc = hscript_escape(text)
    return f'"{esc}"' if (not text or any(c in text for c in " \t\n")) else esc


def _parm_line(name: str, values: str) -> str:
    return f"{name}\t[ 0\tlocks=0 ]\t(\t{values}\t)"


def node_code(spec: AssetSpec, node: NodeSpec) -> str:
    """The script put in ``node.code_parm``: a header, the bind lines, the one-line glue call."""
    module, func = node.glue.split(":")
    pkg, mod = module.rsplit(".", 1)
    lines = [f"# {spec.type_name}: generated by `genpost hda build` from hda/{spec.source.name}; edit the source."]
    lines += list(node.bind_lines)
    lines += [f"from {pkg} import {mod}", f"{'return ' if node.glue_return else ''}{mod}.{func}({node.glue_args})"]
    return "\n".join(lines)


def _num(value: float) -> str:
    return f"{value:g}"


def _flags(display: bool) -> str:
    parts = [f"{flag} {'on' if (display and flag == 'display') else 'off'}" for flag in _FLAGS]
    return "flags =  " + " ".join(parts) + " colordefault on exposed on"


def _output_connectors(node: NodeSpec) -> list[int]:
    """Connector ids of a node's outputs (its inputs take 0..n-1); none for an ``output`` node."""
    if node.type == "output":
        return []
    return [len(node.inputs) + k for k in range(len(node.output_names))]


def _def(node: NodeSpec, by_name: dict[str, NodeSpec]) -> str:
    outs = _output_connectors(node)
    lines = ['comment ""', f"position {_num(node.position[0])} {_num(node.position[1])}",
             f"connectornextid {len(node.inputs) + len(outs)}", _flags(node.display),
             "outputsNamed3", "{"]
    lines += [f'{cid} "{name}"' for cid, name in zip(outs, node.output_names)]
    lines += ["}", "inputsNamed3", "{"]
    wires: list[tuple[str, int]] = []
    for i, ref in enumerate(node.inputs):
        if ref.startswith("("):
            lines.append(f'{i} \t{ref} "" 1 "{node.input_name(i)}"')
            wires.append((ref, 0))
        else:
            src, k = split_input_ref(ref)
            lines.append(f'{i} \t{src} {_output_connectors(by_name[src])[k]} 1 "{node.input_name(i)}"')
            wires.append((src, k))
    lines += ["}", "inputs", "{"]
    for i, (src, k) in enumerate(wires):
        lines.append(f"{i} \t{src} {k} 1")
    lines += ["}", "stat", "{", "  create -1", "  modify -1", f"  author {AUTHOR}", "  access 0777", "}",
              "color UT_Color RGB 0.8 0.8 0.8 ", 'delscript ""', "exprlanguage hscript", "end"]
    return "\n".join(lines) + "\n"


def expr_code(expr: ExprSpec) -> str:
    """The Python of a glue-driven channel: the asset node is ``hou.pwd().parent()``."""
    module, func = expr.glue.split(":")
    pkg, mod = module.rsplit(".", 1)
    return f"from {pkg} import {mod}\nreturn {mod}.{func}(hou.pwd().parent())"


def _spare_default(parm: ParmSpec) -> str:
    default = parm.default or (("0",) if parm.type in _NUMERIC else ("",))
    return _num(float(default[0])) if parm.type in _NUMERIC else default[0]


def _spareparmdef(node: NodeSpec, spec: AssetSpec) -> str:
    text = _BASE_LAYOUTS.get(node.type, "")
    for name in node.spare:
        parm = spec.parm(name)
        lines = ["    parm {", f"        name    {ds_quote(parm.name)}", f"        label   {ds_quote(parm.label)}",
                 f"        type    {parm.type}", f"        default {{ {ds_quote(_spare_default(parm))} }}"]
        if parm.range is not None:
            lines.append(f"        range   {{ {_num(parm.range[0])} {_num(parm.range[1])} }}")
        lines += ['        parmtag { "script_callback_language" "python" }', "    }"]
        text += "\n".join(lines) + "\n"
    return text


def _channel(name: str, expr: str, *, default: str = "0", string: bool = False, python: bool = False) -> str:
    """One ``.chn`` channel, in the layout of AYON's and SideFX Labs' assets."""
    lines = [f"    channel {name} {{", "      lefttype = extend", "      righttype = extend"]
    if string:
        lines.append('      defaultString = \\"\\"')
    elif float(default) != 0:
        lines.append(f"      default = {default}")
    lines.append("      flags = 0")
    value = f"value = {default} {default} " if not string and float(default) != 0 else ""
    if python:
        lines.append(f'      segment {{ length = 0 {value}expr = "{hscript_escape(expr)}" language = python }}')
    else:
        lines.append(f"      segment {{ length = 0 {value}expr = {hscript_escape(expr)} }}")
    lines.append("    }")
    return "\n".join(lines)


def _chn(node: NodeSpec, spec: AssetSpec) -> str:
    channels = []
    for name in node.spare:
        parm = spec.parm(name)
        if parm.type in _NUMERIC:
            channels.append(_channel(name, f'ch("../{name}")', default=_spare_default(parm)))
    for e in node.exprs:
        if e.glue:
            channels.append(_channel(e.parm, expr_code(e), string=e.string, python=True))
        else:
            channels.append(_channel(e.parm, e.hscript, string=e.string))
    return "{\n" + "\n".join(channels) + "\n  }\n" if channels else ""


def _parm(node: NodeSpec, spec: AssetSpec) -> str:
    lines = ["{", "version 0.8"]
    for name, value in node.parms:
        if value.startswith('"'):
            value = '"' + hscript_escape(value[1:-1]) + '"'
        lines.append(_parm_line(name, value))
    if node.code_parm:
        lines.append(_parm_line(node.code_parm, parm_value(node_code(spec, node))))
    for name in node.spare:
        parm = spec.parm(name)
        if parm.type in _NUMERIC:
            lines.append(_parm_line(name, f"[ {name}\t{_spare_default(parm)} ] "))
        else:
            lines.append(_parm_line(name, f'`chs(\\"../{name}\\")`'))
    for e in node.exprs:
        default = '""' if e.string else "0"
        lines.append(_parm_line(e.parm, f"[ {e.parm}\t{default} ] "))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _userdata(version: str) -> str:
    return '{\n\t"___Version___":{\n\t\t"type":"string",\n\t\t"value":"' + version + '"\n\t}\n}\n'


def contents_parts(spec: AssetSpec) -> list[tuple[str, str]]:
    """``(part filename, body)`` of Contents.mime, in Houdini's order."""
    ns, name, ver = split_type_name(spec.type_name)
    by_name = {n.name: n for n in spec.nodes}
    n_inputs = spec.inputs[1]
    root_def = "\n".join([
        'comment ""', "position 0 0", "connectornextid 0", _flags(False), "outputsNamed3", "{", "}",
        "inputsNamed3", "{", "}", "inputs", "{", "}", "stat", "{", "  create -1", "  modify -1",
        f"  author {AUTHOR}", "  access 0777", "}", "color UT_Color RGB 0.8 0.8 0.8 ", 'delscript ""',
        "exprlanguage hscript", "end",
    ]) + "\n"
    top = max((n.position[1] for n in spec.nodes), default=0.0) + 2
    inp = f"{n_inputs}\n" + "".join(
        f'{i} {_num(2.0 * i)} {_num(top)} 2 0 __NO_OWNER_NETWORK_BOX__ "FROMOUTPUT"\n' for i in range(n_inputs))
    parts = [
        ("node_type", f"{spec.table}\n"),
        ("hdaroot.init", f"type = {ns}::{name}::{ver}\nmatchesdef = 0\n"),
        ("hdaroot.def", root_def),
        ("hdaroot.userdata", _userdata("")),
        ("hdaroot.inp", inp),
    ]
    for node in spec.nodes:
        base = f"hdaroot/{node.name}"
        # matchesdef: 1 on the output nodes of the MLOPs and AYON assets, 0 on their processors.
        parts.append((f"{base}.init", f"type = {node.type}\nmatchesdef = {1 if node.type == 'output' else 0}\n"))
        parts.append((f"{base}.def", _def(node, by_name)))
        if node.spare:
            parts.append((f"{base}.spareparmdef", _spareparmdef(node, spec)))
        chn = _chn(node, spec)
        if chn:
            parts.append((f"{base}.chn", chn))
        parts.append((f"{base}.parm", _parm(node, spec)))
        parts.append((f"{base}.userdata", _userdata("___EXTERNAL___")))
    parts.append(("hdaroot.order", f"{len(spec.nodes)}\n" + "".join(f"{n.name}\n" for n in spec.nodes)))
    parts.append(("hdaroot.net", "1\n"))
    return parts


def contents_mime(spec: AssetSpec) -> str:
    """``Contents.mime``: the inner network as a MIME multipart (boundary and headers as Houdini's)."""
    out = ["MIME-Version: 1.0", f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"', ""]
    for filename, body in contents_parts(spec):
        out += [f"--{BOUNDARY}", f'Content-Disposition: attachment; filename="{filename}"',
                "Content-Type: text/plain", "", body]
    out.append(f"--{BOUNDARY}--")
    return "\n".join(out) + "\n"


def contents_files(spec: AssetSpec) -> dict[str, str]:
    """Files of ``Contents.dir/``, keyed by name inside it."""
    return {
        "Contents.mime": contents_mime(spec),
        "Sections.list": '""\nContents.mime\tContents.mime\n',
    }
