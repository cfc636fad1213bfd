"""Generator plugins: entry points, in-process registration, tolerant loading, the CLI listing."""

from __future__ import annotations

import importlib
import json
import logging
import sys
import textwrap
from pathlib import Path

import pytest

from genpost_houdini.cli import main
from genpost_houdini.errors import DependencyError, UsageError
from genpost_houdini.generators import registry
from genpost_houdini.generators.classical import ClassicalGenerator


@pytest.fixture
def clean_registry():
    before = dict(registry._registered)
    yield registry
    registry._registered.clear()
    registry._registered.update(before)


def _fake_dist(root: Path, entries: dict[str, str]) -> None:
    """A minimal installed distribution on sys.path declaring generator entry points."""
    dist = root / "genpost_fake_plugins-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: genpost-fake-plugins\nVersion: 0.1\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entries.items())
    (dist / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{lines}\n")


def test_builtin_classical_is_listed_and_available() -> None:
    infos = registry.available_generators()
    assert "classical" in infos
    info = infos["classical"]
    assert info.available and info.reason == "" and info.temporal is False
    assert "entry point" in info.origin
    gen = registry.get_generator("classical", quality="draft")
    assert isinstance(gen, ClassicalGenerator) and gen.name == "classical"
    assert set(gen.provenance()) >= {"model_id", "weights_hash", "licence"}


def test_broken_entry_point_is_listed_unavailable_not_fatal(tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.setattr(logging.getLogger("genpost"), "propagate", True)  # cli.main may have cut it
    pkg = tmp_path / "good_fake_gen.py"
    pkg.write_text(textwrap.dedent('''
        class Good:
            """A fake backend that imports fine."""
            temporal = True
            def __init__(self, **options):
                self.name = "good-fake"
            def generate(self, request, progress=None):
                return request.images
            def provenance(self):
                return {"model_id": "fake", "weights_hash": "", "licence": "none"}
    '''))
    _fake_dist(tmp_path, {
        "broken-fake": "genpost_no_such_module_xyz:Gen",
        "good-fake": "good_fake_gen:Good",
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    with caplog.at_level(logging.WARNING, logger="genpost.generators"):
        infos = registry.available_generators()
    assert infos["classical"].available  # the others still load
    broken = infos["broken-fake"]
    assert not broken.available
    assert "genpost_no_such_module_xyz" in broken.reason and "failed to import" in broken.reason
    assert any("broken-fake" in rec.getMessage() for rec in caplog.records)
    good = infos["good-fake"]
    assert good.available and good.temporal and good.description == "A fake backend that imports fine."
    with pytest.raises(DependencyError, match="broken-fake.*not available.*genpost_no_such_module_xyz"):
        registry.get_generator("broken-fake")
    assert registry.get_generator("good-fake").provenance()["model_id"] == "fake"
    sys.modules.pop("good_fake_gen", None)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown generator 'nope'.*classical"):
        registry.get_generator("nope")


def test_in_process_registration_and_failing_checks(clean_registry, caplog, monkeypatch) -> None:
    monkeypatch.setattr(logging.getLogger("genpost"), "propagate", True)  # cli.main may have cut it
    class NeedsWeights:
        name = "needs-weights"
        temporal = False

        @classmethod
        def availability(cls, options):
            return (bool(options.get("model")), "no weights: pass --model or set GENPOST_MODELS")

        def __init__(self, model=None):
            self.model = model

        def generate(self, request, progress=None):
            return request.images

        def provenance(self):
            return {"model_id": "x", "weights_hash": "", "licence": ""}

    class CheckRaises(NeedsWeights):
        @classmethod
        def availability(cls, options):
            raise RuntimeError("driver exploded")

    def factory_raises(**options):
        raise RuntimeError("constructor exploded")

    reg = clean_registry
    reg.register_generator("needs-weights", NeedsWeights)
    reg.register_generator("check-raises", CheckRaises)
    reg.register_generator("factory-raises", factory_raises)
    with pytest.raises(UsageError, match="already registered"):
        reg.register_generator("needs-weights", CheckRaises)

    with caplog.at_level(logging.WARNING, logger="genpost.generators"):
        infos = reg.available_generators()
    assert infos["needs-weights"].reason.startswith("no weights") and not infos["needs-weights"].available
    assert reg.available_generators({"model": "/m"})["needs-weights"].available
    assert not infos["check-raises"].available and "driver exploded" in infos["check-raises"].reason
    assert any("check-raises" in rec.getMessage() for rec in caplog.records)
    assert infos["factory-raises"].available  # cannot know without building it

    with pytest.raises(DependencyError, match="no weights"):
        reg.get_generator("needs-weights")
    assert reg.get_generator("needs-weights", model="/m").model == "/m"
    with pytest.raises(UsageError, match="does not accept options"):
        reg.get_generator("needs-weights", bogus=1)
    with pytest.raises(DependencyError, match="factory-raises.*constructor exploded"):
        reg.get_generator("factory-raises")

    # an in-process registration overrides the entry point of the same name
    reg.register_generator("classical", NeedsWeights)
    assert reg.available_generators()["classical"].origin == "registered in process"
    reg.unregister_generator("classical")
    assert isinstance(reg.get_generator("classical"), ClassicalGenerator)


def test_cli_lists_generators(capsys, clean_registry) -> None:
    class Unavailable:
        """Needs a package that is not here."""

        @classmethod
        def availability(cls, options):
            return False, "diffusers not installed"

    clean_registry.register_generator("fake-unavailable", Unavailable)
    assert main(["generators", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["classical"]["available"] is True
    assert data["fake-unavailable"] == {
        "name": "fake-unavailable",
        "available": False,
        "reason": "diffusers not installed",
        "temporal": False,
        "description": "Needs a package that is not here.",
        "origin": "registered in process",
    }
    assert main(["generators"]) == 0
    text = capsys.readouterr().out
    line = next(ln for ln in text.splitlines() if ln.startswith("fake-unavailable"))
    assert "unavailable" in line and "diffusers not installed" in line
    assert any(ln.startswith("classical") and "available" in ln and "(default)" in ln for ln in text.splitlines())
