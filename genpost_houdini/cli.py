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
from typing import Any, Sequence

from . import __version__
from .errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, GenpostError
from .interrupts import Terminated

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


#: Exit codes for a stop by signal (128 + signal number, as a shell reports it).
EXIT_SIGINT, EXIT_SIGTERM, EXIT_SIGPIPE = 130, 143, 141


class _NamedStdout:
    """stdout whose write failures (`> /dev/full`, a full disk under a redirect) are errors that
    name standard output; a closed pipe stays a BrokenPipeError. Everything else is the stream's."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self._error(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self._error(exc) from None

    def _error(self, exc: OSError) -> Exception:
        from .errors import filesystem_error

        _quiet_stdout()
        return filesystem_error(exc, "standard output", "write")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _quiet_stdout() -> None:
    """stdout's reader went away: send what is left to /dev/null so the interpreter's final
    flush does not print a BrokenPipeError."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (never raises for expected failures).

    SIGTERM is handled like SIGINT (:mod:`genpost_houdini.interrupts`): clean stop, exit 143.
    """
    from .interrupts import handled

    with handled():
        try:
            return _main(argv)
        except Terminated:  # before a command started (imports, parsing)
            _report("genpost: terminated (SIGTERM)")
            return EXIT_SIGTERM
        except KeyboardInterrupt:
            _report("genpost: interrupted")
            return EXIT_SIGINT


def _main(argv: Sequence[str] | None) -> int:
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
    original = sys.stdout
    if original is not None and not isinstance(original, _NamedStdout):
        sys.stdout = _NamedStdout(original)  # type: ignore[assignment]
    try:
        return _run(args, handler)
    finally:
        if sys.stdout is not original and isinstance(sys.stdout, _NamedStdout):
            sys.stdout = original


def _run(args: argparse.Namespace, handler: Any) -> int:
    """Run the command's handler; map its exceptions to exit codes (the one place that does)."""
    command = args.command
    try:
        result = handler(args)
        if sys.stdout is not None:  # None when started with stdout closed (`>&-`): nothing to flush
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
    except BrokenPipeError:  # `genpost ... | head`: the reader has what it wanted
        _quiet_stdout()
        return EXIT_SIGPIPE
    except GenpostError as exc:
        _report(f"genpost {command}: error: {exc}")
        return exc.exit_code
    except Terminated:
        _report(f"genpost {command}: terminated (SIGTERM); finished frames are kept, rerun to continue")
        return EXIT_SIGTERM
    except KeyboardInterrupt:
        _report(f"genpost {command}: interrupted")
        return EXIT_SIGINT
    except MemoryError as exc:
        _report(f"genpost {command}: out of memory: {exc}")
        return 75
    except OSError as exc:  # a filesystem failure no caller named: still a clear error, no traceback
        from .errors import filesystem_error

        log.debug("unhandled OSError", exc_info=True)
        error = filesystem_error(exc, None, "access")
        _report(f"genpost {command}: error: {error}")
        return error.exit_code
    except Exception as exc:  # a bug: say so plainly, keep the traceback for the report
        log.debug("unexpected error", exc_info=True)
        import traceback

        traceback.print_exc()
        _report(f"genpost {command}: internal error: {exc!r}")
        return EXIT_FAILURE
    return EXIT_OK if result is None else int(result)


def _report(text: str) -> None:
    """One line on stderr (a closed stderr is not an error of its own)."""
    try:
        print(text, file=sys.stderr)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
