"""A small DialogScript reader, to check what ``genpost hda build`` writes (and any Houdini
written DialogScript): blocks, quoted strings with escapes, ``[ "code" language ]`` items.

``parse_dialog_script(text)`` -> ``{"name", "script", "label", "inputlabels", "parms"}`` where
each parm is a dict: name, label, type, default (list), menu (list of pairs), menu_kind,
menu_script (list of code lines), range (two strings), help, hidewhen, disablewhen,
joinnext (bool), tags (dict), folder (enclosing group name or "").
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\{)|(\})|(\[)|(\])|(\n)|([^\s{}\[\]"]+)|[ \t\r]+', re.S)
_ESC = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}

Line = list[Any]  # items: ("s", text) quoted, ("w", text) bare word, Block, ("[", items)


class DialogScriptError(ValueError):
    pass


class Block(list):
    """A ``{ ... }`` block: a list of lines, each a list of items."""


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _EXC(m.group(1)), text)


def _EXC(ch: str) -> str:  # noqa: N802
    return _ESC.get(ch, "\\" + ch)


def _tokens(text: str) -> list[tuple[str, str]]:
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise DialogScriptError(f"cannot read DialogScript at offset {pos}: {text[pos:pos + 20]!r}")
        pos = m.end()
        if m.group(1) is not None:
            out.append(("s", _unescape(m.group(1))))
        elif m.group(2):
            out.append(("{", "{"))
        elif m.group(3):
            out.append(("}", "}"))
        elif m.group(4):
            out.append(("[", "["))
        elif m.group(5):
            out.append(("]", "]"))
        elif m.group(6):
            out.append(("nl", "\n"))
        elif m.group(7):
            out.append(("w", m.group(7)))
    return out


def _block(tokens: list[tuple[str, str]], i: int) -> tuple[Block, int]:
    """Parse from just after ``{`` to the matching ``}``; returns (block, index after ``}``)."""
    block = Block()
    line: Line = []
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "}":
            if line:
                block.append(line)
            return block, i + 1
        if kind == "{":
            inner, i = _block(tokens, i + 1)
            line.append(inner)
            continue
        if kind == "[":
            j = i + 1
            items = []
            while j < len(tokens) and tokens[j][0] != "]":
                items.append(tokens[j])
                j += 1
            if j >= len(tokens):
                raise DialogScriptError("unclosed [ ... ]")
            line.append(("[", items))
            i = j + 1
            continue
        if kind == "nl":
            if line:
                block.append(line)
            line = []
        else:
            line.append((kind, value))
        i += 1
    raise DialogScriptError("unclosed { ... }: the DialogScript ends inside a block")


def _text(item: Any) -> str:
    if isinstance(item, tuple) and item[0] in ("s", "w"):
        return item[1]
    raise DialogScriptError(f"expected a word or string, got {item!r}")


def _values(block: Block) -> list[str]:
    return [_text(it) for line in block for it in line if not (isinstance(it, tuple) and it[0] == "[")]


def _parm(block: Block, folder: str) -> dict[str, Any]:
    parm: dict[str, Any] = {"folder": folder, "tags": {}, "joinnext": False, "default": [], "menu": [],
                            "menu_kind": "", "menu_script": [], "range": None}
    for line in block:
        key = _text(line[0])
        rest = line[1:]
        if key in ("name", "label", "type", "help", "hidewhen", "disablewhen", "size"):
            parm[key] = _text(rest[0])
        elif key == "joinnext":
            parm["joinnext"] = True
        elif key == "default":
            inner = rest[0]
            parm["default"] = [(f"[{it[1][0][1]}]" if isinstance(it, tuple) and it[0] == "[" else _text(it))
                               for ln in inner for it in ln]
        elif key in ("menu", "menureplace", "menutoggle"):
            inner = rest[0]
            parm["menu_kind"] = key
            code = [it[1][0][1] for ln in inner for it in ln if isinstance(it, tuple) and it[0] == "["]
            if code:
                parm["menu_script"] = code
            else:
                vals = _values(inner)
                if len(vals) % 2:
                    raise DialogScriptError(f"parm {parm.get('name')}: menu has an odd number of strings")
                parm["menu"] = list(zip(vals[::2], vals[1::2]))
        elif key == "range":
            vals = _values(rest[0])
            if len(vals) != 2:
                raise DialogScriptError(f"parm {parm.get('name')}: range needs two values")
            parm["range"] = (vals[0], vals[1])
        elif key == "parmtag":
            vals = _values(rest[0])
            if len(vals) != 2:
                raise DialogScriptError(f"parm {parm.get('name')}: parmtag needs a key and a value")
            parm["tags"][vals[0]] = vals[1]
        else:
            parm.setdefault("other", {})[key] = rest
    for required in ("name", "label", "type"):
        if required not in parm:
            raise DialogScriptError(f"a parm block has no {required}")
    return parm


def _walk(block: Block, folder: str, parms: list[dict[str, Any]]) -> None:
    for line in block:
        if not line or not isinstance(line[0], tuple):
            continue
        key = line[0][1]
        if key == "parm" and len(line) > 1 and isinstance(line[1], Block):
            parms.append(_parm(line[1], folder))
        elif key in ("groupsimple", "groupcollapsible", "group") and len(line) > 1 and isinstance(line[1], Block):
            name = next((_text(ln[1]) for ln in line[1] if ln and ln[0] == ("w", "name")), "")
            _walk(line[1], name, parms)


def parse_dialog_script(text: str) -> dict[str, Any]:
    """Parse a DialogScript section (see module doc); DialogScriptError when malformed."""
    tokens = [t for t in _tokens(text)]
    start = next((i for i, t in enumerate(tokens) if t[0] == "{"), None)
    if start is None:
        raise DialogScriptError("no top-level { ... } block")
    top, end = _block(tokens, start + 1)
    if any(t[0] != "nl" for t in tokens[end:]):
        raise DialogScriptError("text after the top-level block")
    result: dict[str, Any] = {"inputlabels": {}, "parms": []}
    for line in top:
        key = _text(line[0]) if isinstance(line[0], tuple) else ""
        if key in ("name", "script", "label") and len(line) > 1:
            result[key] = _text(line[1])
        elif key == "inputlabel" and len(line) > 2:
            result["inputlabels"][int(_text(line[1]))] = _text(line[2])
    _walk(top, "", result["parms"])
    for required in ("name", "script", "label"):
        if required not in result:
            raise DialogScriptError(f"DialogScript has no '{required}'")
    return result
