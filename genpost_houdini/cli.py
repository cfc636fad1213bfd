"""The ``genpost`` command line: ``main(argv) -> int``.

Each sub-command lives in ``genpost_houdini.commands.<module>`` with a ``register(subparsers)``
function that adds its parser and sets ``handler``. Command modules import only argparse at top
level, so ``genpost --help`` stays fast; the work they call imports numpy, USD, OIIO or torch on
demand. This is the only place exceptions become exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from . import __version__
from .errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, GenpostError

#: Command modules under genpost_houdini.commands, in the order `genpost --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "demo",
    "setext",
    "crowd",
    "qc",
    "camera",
    "reproject",
    "exr",
    "samples",
    "generators",
    "models",
    "engine",
    "worker",
    "run",
    "farm",
    "houdini",
    "doctor",
    "disclosure",
)

log = logging.getLogger("genpost")


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns every exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise _ArgError(f"{self.prog}: error: {message}")


class _ArgError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="genpost",
        description="Generative set extension and crowd replication locked to the shot's "
        "camera and depth. Exit codes: 0 ok, 2 usage, 3 bad input (do not retry), "
        "4 output check failed, 75 transient (retry).",
    )
    parser.add_argument("--version", action="version", version=f"genpost-houdini {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"{__package__}.commands.{name}")
        module.register(sub)
    return parser


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("genpost: %(message)s"))
    root = logging.getLogger("genpost")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (never raises for expected failures)."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except _ArgError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    _configure_logging(args.verbose, args.quiet)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        result = handler(args)
    except GenpostError as exc:
        print(f"genpost {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"genpost {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError as exc:
        print(f"genpost {args.command}: out of memory: {exc}", file=sys.stderr)
        return 75
    except Exception as exc:  # a bug: say so plainly, keep the traceback for the report
        log.debug("unexpected error", exc_info=True)
        import traceback

        traceback.print_exc()
        print(f"genpost {args.command}: internal error: {exc!r}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK if result is None else int(result)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
