"""Build ``otls/`` from ``hda/``: the whole tree as ``{relative path: bytes}``, then write or diff it.

Each asset becomes its own library directory ``otls/<library>.hda/`` (Houdini installs an
expanded directory whose name ends ``.hda`` from any ``HOUDINI_PATH/otls``); an asset that needs
a later Houdini (``min_houdini``) goes to ``houdini<major>/otls/`` instead, a folder package.json
adds to HOUDINI_PATH only from that version on.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..atomic import write_bytes_atomic
from . import render, subnet
from .names import table_qualified
from .spec import AssetSpec, SpecError, load_specs

#: Operator names in INDEX__SECTION that mark a library as ours (stale ones are removed).
OUR_NAMESPACE = "genpost::"


#: Sections of a subnet asset's operator folder, in the order Houdini lists them (AYON's
#: ``ayon::Lop/mute_layers::1.0``); ``Contents.gz`` is stored expanded as ``Contents.dir/``.
SUBNET_SECTIONS = ("DialogScript", "CreateScript", "Contents.gz", "TypePropertiesOptions", "Help", "Tools.shelf")
#: Added after SUBNET_SECTIONS when the asset has callbacks or menu scripts.
SUBNET_PYTHON_SECTIONS = ("PythonModule", "ExtraFileOptions")


def _subnet_files(spec: AssetSpec, op: str) -> dict[str, bytes]:
    sections = {
        "DialogScript": render.dialog_script(spec),
        "CreateScript": render.create_script(spec),
        "TypePropertiesOptions": render.type_properties_options(),
        "Help": render.help_card(spec),
        "Tools.shelf": render.tools_shelf(spec),
        "PythonModule": render.python_module(spec),
        "ExtraFileOptions": render.extra_file_options(),
    }
    names = list(SUBNET_SECTIONS) + (list(SUBNET_PYTHON_SECTIONS) if spec.functions() else [])
    files: dict[str, bytes] = {}
    for name in names:
        if name == "Contents.gz":
            for inner, text in subnet.contents_files(spec).items():
                files[f"{op}/Contents.dir/{inner}"] = text.encode("utf-8")
        else:
            files[f"{op}/{name}"] = sections[name].encode("utf-8")
    files[f"{op}/Sections.list"] = render.sections_list([(n, n) for n in names]).encode("utf-8")
    return files


def build_asset(spec: AssetSpec) -> dict[str, bytes]:
    """Files of one expanded library, keyed by path relative to the library directory."""
    funcs = [render.function_name(f) for f in spec.functions()]
    dupes = sorted({f for f in funcs if funcs.count(f) > 1})
    if dupes:
        raise SpecError(f"{spec.source}: two glue functions share the name(s) {', '.join(dupes)}")
    op = render.operator_folder_name(spec)
    if spec.is_subnet:
        return _library(spec, op, _subnet_files(spec, op))
    sections = {
        "DialogScript": render.dialog_script(spec),
        "PythonCook": render.python_cook(spec),
        "TypePropertiesOptions": render.type_properties_options(),
        "Help": render.help_card(spec),
        "Tools.shelf": render.tools_shelf(spec),
        "FunctionName": render.short_type(spec),
        "CreateScript": render.create_script(spec),
        "PythonModule": render.python_module(spec),
        "ExtraFileOptions": render.extra_file_options(),
    }
    files: dict[str, bytes] = {f"{op}/{name}": sections[name].encode("utf-8") for name in render.OPERATOR_SECTIONS}
    files[f"{op}/Sections.list"] = render.sections_list([(n, n) for n in render.OPERATOR_SECTIONS]).encode()
    return _library(spec, op, files)


def _library(spec: AssetSpec, op: str, files: dict[str, bytes]) -> dict[str, bytes]:
    """``files`` of the operator folder plus the library's INDEX__SECTION and Sections.list."""
    files["INDEX__SECTION"] = render.index_section(spec).encode("utf-8")
    files["houdini.hdalibrary"] = b""
    files["Sections.list"] = render.sections_list(
        [
            ("INDEX__SECTION", "INDEX_SECTION"),
            ("houdini.hdalibrary", "houdini.hdalibrary"),
            (op, table_qualified(spec.type_name, spec.table)),
        ]
    ).encode("utf-8")
    return files


def build_tree(src_dir: str | os.PathLike[str]) -> dict[str, bytes]:
    """Every library built from ``src_dir``: ``{"<otls dir>/<library>.hda/<path>": bytes}``, the
    otls dir being ``otls`` or, for assets that need a later Houdini, ``houdini<major>/otls``."""
    tree: dict[str, bytes] = {}
    for spec in load_specs(src_dir):
        for rel, data in build_asset(spec).items():
            tree[f"{spec.otls_dir}/{spec.library}/{rel}"] = data
    return dict(sorted(tree.items()))


def _target(rel: str, out_dir: Path) -> Path:
    """Where ``rel`` goes: ``otls/...`` into ``out_dir``, a version folder beside it."""
    return out_dir / rel[len("otls/"):] if rel.startswith("otls/") else out_dir.parent / rel


def _library_of(rel: str) -> str:
    """``"otls/x.hda/a/b"`` -> ``"otls/x.hda"``; ``"houdini21/otls/y.hda/c"`` -> ``"houdini21/otls/y.hda"``."""
    parts = rel.split("/")
    cut = next(i for i, p in enumerate(parts) if p.endswith(".hda"))
    return "/".join(parts[: cut + 1])


def _our_libraries(out_dir: Path) -> list[tuple[str, Path]]:
    """(tree prefix, folder) of every library of ours in ``out_dir`` and the version folders beside it."""
    folders = [("otls", out_dir)] + [(f"{d.name}/otls", d / "otls") for d in sorted(out_dir.parent.glob("houdini[0-9]*"))]
    libs = []
    for prefix, folder in folders:
        for lib in sorted(folder.glob("*.hda")):
            index = lib / "INDEX__SECTION"
            if lib.is_dir() and index.is_file() and f"Operator:     {OUR_NAMESPACE}" in index.read_text(errors="replace"):
                libs.append((f"{prefix}/{lib.name}", lib))
    return libs


def _files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def diff_tree(tree: dict[str, bytes], out_dir: str | os.PathLike[str]) -> list[str]:
    """What differs between the otls folder ``out_dir`` (and its version folders) and ``tree``
    (empty list: no drift)."""
    out_dir = Path(out_dir)
    problems: list[str] = []
    libraries = {_library_of(rel) for rel in tree}
    for rel, data in tree.items():
        path = _target(rel, out_dir)
        if not path.is_file():
            problems.append(f"missing: {path}")
        elif path.read_bytes() != data:
            problems.append(f"differs: {path}")
    for name, lib in _our_libraries(out_dir):
        if name not in libraries:
            problems.append(f"not built from hda/ (stale library): {lib}")
            continue
        for rel in _files_under(lib):
            if f"{name}/{rel}" not in tree:
                problems.append(f"extra file: {lib / rel}")
    return problems


def write_tree(tree: dict[str, bytes], out_dir: str | os.PathLike[str]) -> tuple[list[Path], list[Path]]:
    """Write ``tree`` into the otls folder ``out_dir`` (version folders beside it): only changed
    files are rewritten (atomically); files and libraries of ours that the build no longer makes
    are removed. Returns (written, removed)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    removed: list[Path] = []
    libraries = {_library_of(rel) for rel in tree}
    for name, lib in _our_libraries(out_dir):
        if name not in libraries:
            shutil.rmtree(lib)
            removed.append(lib)
        else:
            for rel in _files_under(lib):
                if f"{name}/{rel}" not in tree:
                    (lib / rel).unlink()
                    removed.append(lib / rel)
    for rel, data in tree.items():
        path = _target(rel, out_dir)
        if path.is_file() and path.read_bytes() == data:
            continue
        if data:
            write_bytes_atomic(path, data)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
        written.append(path)
    return written, removed
