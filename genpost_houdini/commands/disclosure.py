"""`genpost disclosure` (not yet implemented: registers nothing)."""

from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Placeholder while the command is being built; replaced by the real parser."""
