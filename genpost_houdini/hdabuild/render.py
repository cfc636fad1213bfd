"""Text of each section of an expanded Python-type operator, in the shapes Houdini writes.

Every function is pure and deterministic: same spec, same text. Formats follow Houdini-written
assets (SideFX Labs, AYON): DialogScript blocks, hscript CreateScript, ``Key := value;``
TypePropertiesOptions, tab-indented ExtraFileOptions JSON, Tools.shelf XML, wiki-markup Help.
"""

from __future__ import annotations

from .names import TABLES, encode_section_name, split_type_name, table_qualified
from .spec import PARM_SIZES, AssetSpec, ParmSpec

#: Fixed "Modified" stamp: Houdini writes the save time; a constant keeps builds byte-identical.
MODIFIED = "Thu Jan 01 00:00:00 2026"

#: Sections of an operator folder, in the order Houdini lists them for a Python-type operator.
OPERATOR_SECTIONS = (
    "DialogScript",
    "PythonCook",
    "TypePropertiesOptions",
    "Help",
    "Tools.shelf",
    "FunctionName",
    "CreateScript",
    "PythonModule",
    "ExtraFileOptions",
)


def ds_quote(text: str) -> str:
    """A DialogScript string literal: double quotes, backslash escapes, newlines as ``\\n``."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def function_name(ref: str) -> str:
    """``"genpost_houdini.houdini.lop:camera_menu"`` -> ``"camera_menu"``."""
    return ref.rsplit(":", 1)[1]


def _parm_lines(parm: ParmSpec, indent: str) -> list[str]:
    i1 = indent + "    "
    lines = [f"{indent}parm {{", f"{i1}name    {ds_quote(parm.name)}", f"{i1}label   {ds_quote(parm.label)}"]
    lines.append(f"{i1}type    {parm.type}")
    size = PARM_SIZES.get(parm.type, 1)
    if size > 1:
        lines.append(f"{i1}size    {size}")
    if parm.joinnext:
        lines.append(f"{i1}joinnext")
    if parm.default_expr:
        lines.append(f"{i1}default {{ [ {ds_quote(parm.default_expr)} hscript-expr ] }}")
    else:
        default = parm.default or (("0",) * size if parm.type in ("integer", "float", "toggle", "button", "vector")
                                   else ("",))
        lines.append(f"{i1}default {{ {' '.join(ds_quote(v) for v in default)} }}")
    if parm.help:
        lines.append(f"{i1}help    {ds_quote(' '.join(parm.help.split()))}")
    if parm.disablewhen:
        lines.append(f"{i1}disablewhen {ds_quote(parm.disablewhen)}")
    if parm.hidewhen:
        lines.append(f"{i1}hidewhen {ds_quote(parm.hidewhen)}")
    if parm.menu:
        width = max(len(ds_quote(tok)) for tok, _ in parm.menu)
        lines.append(f"{i1}{parm.menu_kind} {{")
        for tok, label in parm.menu:
            lines.append(f"{i1}    {ds_quote(tok).ljust(width)} {ds_quote(label)}")
        lines.append(f"{i1}}}")
    elif parm.menu_script:
        lines.append(f"{i1}{parm.menu_kind} {{")
        lines.append(f"{i1}    [ {ds_quote('return hou.phm().' + function_name(parm.menu_script) + '(kwargs)')} ]")
        lines.append(f"{i1}    language python")
        lines.append(f"{i1}}}")
    if parm.range is not None:
        lo = _num(parm.range[0]) + ("!" if parm.strict_min else "")
        hi = _num(parm.range[1]) + ("!" if parm.strict_max else "")
        lines.append(f"{i1}range   {{ {lo} {hi} }}")
    tags: dict[str, str] = dict(parm.tags)
    if parm.multiline:
        tags.setdefault("editor", "1")
        tags.setdefault("editorlines", "3-8")
    if parm.file_pattern:
        tags["filechooser_pattern"] = parm.file_pattern
    if parm.prim_picker:
        tags["script_action"] = "import loputils\nloputils.selectPrimsInParm(kwargs, False)"
        tags["script_action_help"] = "Select a primitive in the Scene Viewer or Scene Graph Tree pane."
        tags["script_action_icon"] = "BUTTONS_reselect"
        tags["sidefx::usdpathtype"] = "prim"
    if parm.callback:
        tags["script_callback"] = f"hou.phm().{function_name(parm.callback)}(kwargs)"
    tags["script_callback_language"] = "python"
    for key in sorted(tags):
        lines.append(f"{i1}parmtag {{ {ds_quote(key)} {ds_quote(tags[key])} }}")
    lines.append(f"{indent}}}")
    return lines


def dialog_script(spec: AssetSpec) -> str:
    """The DialogScript section: the parameter interface."""
    lines = [
        f"# Dialog script for {spec.type_name} automatically generated",
        "",
        "{",
        f"    name\t{spec.type_name}",
        # Python-type operators: the short name (their FunctionName); subnet assets: the full
        # type name, as Houdini writes it for MLOPs and SideFX Labs TOP assets.
        f"    script\t{spec.type_name if spec.is_subnet else spec.short_name}",
        f"    label\t{ds_quote(spec.label)}",
        "",
        "    help {",
        '\t""',
        "    }",
        "",
    ]
    if spec.cop_inputs or spec.cop_outputs:
        # A Copernicus asset's ports and their layer types, as Houdini 20.5 writes them
        # (deferred_diffusion::Cop/image): ``input inputN name``, ``output outputN name``, then
        # ``signature default Default { in types } { out types }``.
        lines += [f"    input\tinput{n}\t{name}" for n, (name, _) in enumerate(spec.cop_inputs, 1)]
        lines += [f"    output\toutput{n}\t{name}" for n, (name, _) in enumerate(spec.cop_outputs, 1)]
        ins = " ".join(t for _, t in spec.cop_inputs)
        outs = " ".join(t for _, t in spec.cop_outputs)
        lines += [f"    signature\tdefault\tDefault\t{{ {ins} }}\t{{ {outs} }}", ""]
    if spec.inputs[1]:
        for n in range(1, spec.inputs[1] + 1):
            label = spec.input_labels[n - 1] if n - 1 < len(spec.input_labels) else f"Input {n}"
            lines.append(f"    inputlabel\t{n}\t{ds_quote(label)}")
        lines.append("")
    for folder in spec.folders:
        kind = "groupcollapsible" if folder.collapsible else "groupsimple"
        lines += [f"    {kind} {{", f"        name    {ds_quote(folder.name)}", f"        label   {ds_quote(folder.label)}", ""]
        for parm in folder.parms:
            lines += _parm_lines(parm, "        ")
        lines.append("    }")
        lines.append("")
    lines.append("}")
    return "\n".join(lines) + "\n"


def create_script(spec: AssetSpec) -> str:
    """The hscript run when a node of the type is created."""
    qualified = table_qualified(spec.type_name, spec.table)
    return (
        "# Automatically generated script\n"
        "\\set noalias = 1\n"
        "#\n"
        f"#  Creation script for {spec.type_name} operator\n"
        "#\n"
        "\n"
        'if ( "$arg1" == "" ) then\n'
        "    echo This script is intended as a creation script\n"
        "    exit\n"
        "endif\n"
        "\n"
        f"# Node $arg1 ({qualified})\n"
        "opexprlanguage -s hscript $arg1\n"
        "opuserdata -n '___Version___' -v '' $arg1\n"
    )


_TYPE_PROPERTIES = {
    "CheckExternal": 1,
    "ContentsCompressionType": 1,
    "ForbidOutsideParms": 1,
    "GzipContents": 1,
    "LockContents": 1,
    "MakeDefault": 1,
    "ParmsFromVfl": 0,
    "PrefixDroppedParmLabel": 0,
    "PrefixDroppedParmName": 0,
    "SaveCachedCode": 0,
    "SaveIcon": 1,
    "SaveSpareParms": 0,
    "UnlockOnCreate": 0,
    "UseDSParms": 1,
}


def type_properties_options() -> str:
    return "".join(f"{k} := {v};\n" for k, v in _TYPE_PROPERTIES.items())


def _hou_json(data: dict[str, dict[str, object]]) -> str:
    """JSON the way Houdini writes ExtraFileOptions: tabs, no space after ':'."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ",".join(value(x) for x in v) + "]"
        if isinstance(v, int):
            return str(v)
        import json

        return json.dumps(v)

    items = []
    for key in sorted(data):
        fields = ",\n".join(f'\t\t"{k}":{value(v)}' for k, v in data[key].items())
        items.append(f'\t"{key}":{{\n{fields}\n\t}}')
    return "{\n" + ",\n".join(items) + "\n}\n"


def extra_file_options() -> str:
    """Marks PythonModule as a Python script section (houdini-package-runner lints such sections)."""
    opts: dict[str, dict[str, object]] = {
        "PythonModule/Cursor": {"type": "intarray", "value": [1, 1]},
        "PythonModule/IsExpr": {"type": "bool", "value": False},
        "PythonModule/IsPython": {"type": "bool", "value": True},
        "PythonModule/IsScript": {"type": "bool", "value": True},
        "PythonModule/Source": {"type": "string", "value": ""},
    }
    return _hou_json(opts)


_TOOL_UTILS = {"Lop": "loptoolutils", "Sop": "soptoolutils", "Cop": "coptoolutils", "Cop2": "cop2toolutils", "Top": "toptoolutils"}


def tools_shelf(spec: AssetSpec) -> str:
    """The TAB-menu entry (viewer and network editor) under the spec's submenu."""
    utils = _TOOL_UTILS[spec.table]
    sub = spec.submenu.replace("&", "&amp;").replace("<", "&lt;")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<shelfDocument>\n"
        "  <!-- This file contains definitions of shelves, toolbars, and tools.\n"
        " It should not be hand-edited when it is being used by the application.\n"
        " Note, that two definitions of the same element are not allowed in\n"
        " a single file. -->\n"
        "\n"
        '  <tool name="$HDA_DEFAULT_TOOL" label="$HDA_LABEL" icon="$HDA_ICON">\n'
        '    <toolMenuContext name="viewer">\n'
        f"      <contextNetType>{TABLES[spec.table]}</contextNetType>\n"
        "    </toolMenuContext>\n"
        '    <toolMenuContext name="network">\n'
        "      <contextOpType>$HDA_TABLE_AND_NAME</contextOpType>\n"
        "    </toolMenuContext>\n"
        f"    <toolSubmenu>{sub}</toolSubmenu>\n"
        f'    <script scriptType="python"><![CDATA[import {utils}\n'
        "\n"
        f"{utils}.genericTool(kwargs, '$HDA_NAME')]]></script>\n"
        "  </tool>\n"
        "</shelfDocument>\n"
    )


def help_card(spec: AssetSpec) -> str:
    """The help card (Houdini wiki markup): summary, body, one entry per parameter."""
    icon = spec.icon.replace("_", "/", 1)
    lines = [
        f"= {spec.label} =",
        "",
        "#type: node",
        f"#context: {spec.table.lower()}",
        f"#internal: {spec.type_name}",
        f"#icon: {icon}",
        "#tags: genpost, generative, shot",
        "",
        f'"""{spec.summary}"""',
        "",
        spec.help,
        "",
        "@parameters",
    ]
    for folder in spec.folders:
        lines += ["", f"== {folder.label} =="]
        for parm in folder.parms:
            if parm.type == "label":
                continue
            lines += ["", f"{parm.label}:", f"    #id: {parm.name}"]
            text = parm.help or parm.label
            lines.append("    " + " ".join(text.split()))
            if parm.menu:
                lines.append("")
                for tok, label in parm.menu:
                    lines += [f"    {label}:", f"        `{tok}`"]
    return "\n".join(lines) + "\n"


def python_module(spec: AssetSpec) -> str:
    """Callbacks and menu scripts: one forwarding function per glue function referenced."""
    out = [
        f'"""PythonModule of {spec.type_name}.',
        "",
        f"Generated by `genpost hda build` from hda/{spec.source.name}: edit the source, not this section.",
        "Each function forwards to genpost_houdini.houdini, where the tested code lives.",
        '"""',
    ]
    for ref in spec.functions():
        module, func = ref.split(":")
        pkg, mod = module.rsplit(".", 1)
        out += ["", "", f"def {func}(kwargs):", f"    from {pkg} import {mod}", "", f"    return {mod}.{func}(kwargs)"]
    return "\n".join(out) + "\n"


def python_cook(spec: AssetSpec) -> str:
    """The cook: imports the glue and calls the spec's cook function with this node."""
    module, func = spec.cook.split(":")
    pkg, mod = module.rsplit(".", 1)
    return (
        f"# Cook of {spec.type_name}: generated by `genpost hda build` from hda/{spec.source.name}.\n"
        "import hou\n"
        "\n"
        f"from {pkg} import {mod}\n"
        "\n"
        f"{mod}.{func}(hou.pwd())\n"
    )


def index_section(spec: AssetSpec) -> str:
    """The library's INDEX__SECTION entry for the operator (fields in Houdini's order)."""
    qualified = table_qualified(spec.type_name, spec.table)
    fields = [
        ("Operator", spec.type_name),
        ("Label", spec.label),
        ("Path", f"oplib:/{qualified}?{qualified}"),
        ("Icon", spec.icon),
        ("Table", spec.table),
        ("License", ""),
        ("Extra", ""),
        ("User", ""),
        ("Inputs", f"{spec.inputs[0]} to {spec.inputs[1]}"),
        ("Subnet", "true" if spec.is_subnet else "false"),
        ("Python", "false" if spec.is_subnet else "true"),
        ("Empty", "false"),
        ("Modified", MODIFIED),
    ]
    return "".join(f"{(k + ':').ljust(14)}{v}\n" for k, v in fields) + "\n"


def sections_list(entries: list[tuple[str, str]]) -> str:
    """``Sections.list``: first line ``""``, then ``disk name<TAB>section name`` per entry."""
    return '""\n' + "".join(f"{disk}\t{name}\n" for disk, name in entries)


def operator_folder_name(spec: AssetSpec) -> str:
    return encode_section_name(table_qualified(spec.type_name, spec.table))


def short_type(spec: AssetSpec) -> str:
    return split_type_name(spec.type_name)[1]
