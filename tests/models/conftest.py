"""Tiny model folders, built once per test session (random weights, no downloads)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")


@pytest.fixture(scope="session")
def tiny_wan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from genpost_houdini.generators.tiny import make_tiny

    return make_tiny("wan-vace", tmp_path_factory.mktemp("models") / "wan-vace")


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from genpost_houdini.generators.tiny import make_tiny

    return make_tiny("sd-inpaint-depth", tmp_path_factory.mktemp("models") / "sd-inpaint-depth")


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> object:
    """Tiny models gain nothing from intra-op threads, and on a shared, loaded machine OpenMP
    spinning makes them 10-20x slower; restored afterwards for the rest of the suite."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield None
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights-hash cache in the test's own folder, not the user's home."""
    monkeypatch.setenv("GENPOST_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Make every outgoing connection fail loudly; returns the list of attempted addresses."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError(f"test forbids network access (tried {address!r})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts
