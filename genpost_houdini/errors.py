"""One error tree for the whole toolkit.

Library code raises these; only ``genpost_houdini.cli.main`` turns them into exit codes, so a
farm can act on the code (3: bad input, do not retry; 75: transient, retry). Every message
names the file, frame or prim at fault.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_OUTPUT_CHECK = 4
EXIT_TRANSIENT = 75


class GenpostError(Exception):
    """Base of every error the toolkit raises on purpose."""

    exit_code: int = EXIT_FAILURE


class UsageError(GenpostError):
    """The command was called wrongly (bad flag combination, malformed value)."""

    exit_code = EXIT_USAGE


class BadInputError(GenpostError):
    """Input data is wrong or missing; rerunning will not help."""

    exit_code = EXIT_BAD_INPUT


class MissingFrameError(BadInputError):
    """One or more frames of a sequence are not on disk."""


class DamagedFileError(BadInputError):
    """A file exists but cannot be read safely (truncated, corrupt, hostile)."""


class ResolutionMismatchError(BadInputError):
    """Images of one shot disagree in resolution."""


class InvalidDepthError(BadInputError):
    """Depth holds no usable value where one is required (all NaN, negative, no hit)."""


class UnknownCameraError(BadInputError):
    """The camera prim does not exist, is not a camera, or is ambiguous."""


class UnknownPrimError(BadInputError):
    """A prim named by the user does not exist or has the wrong type."""


class ColourError(BadInputError):
    """A colour space or OCIO config is unknown."""


class JobFileError(BadInputError):
    """A job description is malformed; the message names the field."""


class ModelError(BadInputError):
    """A model folder is missing, incomplete, unsafe or of the wrong kind."""


class ConsentError(BadInputError):
    """A crowd source has no consent record."""


class OutputCheckError(GenpostError):
    """Outputs were produced but failed their own verification."""

    exit_code = EXIT_OUTPUT_CHECK


class TransientError(GenpostError):
    """A passing condition (lock held, device busy, out of memory); retrying may succeed."""

    exit_code = EXIT_TRANSIENT


class DependencyError(GenpostError):
    """An optional package (torch, diffusers, tensorrt, onnxruntime) is not installed."""

    exit_code = EXIT_BAD_INPUT


class FolderOwnedError(BadInputError):
    """An output folder belongs to another job (different inputs or parameters)."""


class NotWritableError(BadInputError):
    """A file or folder cannot be written for a lasting reason: permission, a file where a
    folder should be (or the reverse), a read-only filesystem. Retrying will not help."""


class StorageError(TransientError):
    """Storage failed for a passing reason: no space left, quota, I/O error, stale handle.
    Retrying (elsewhere, or after space is freed) may succeed."""


#: errno names that mean "retrying may succeed" (exit 75); every other OSError is lasting (3).
TRANSIENT_ERRNOS: frozenset[str] = frozenset({
    "ENOSPC", "EDQUOT", "EIO", "EAGAIN", "EWOULDBLOCK", "EBUSY", "EINTR", "ETIMEDOUT", "ESTALE",
    "ENOLCK", "EMFILE", "ENFILE", "ENOMEM", "ENOBUFS", "EREMOTEIO", "ECONNRESET", "ECONNABORTED",
    "EHOSTDOWN", "EHOSTUNREACH", "ENETDOWN", "ENETUNREACH", "ENETRESET", "ENOTCONN",
})


def filesystem_error(exc: OSError, path: object = None, action: str = "write") -> GenpostError:
    """The GenpostError for an OSError met while ``action``-ing ``path`` (default: the
    exception's own file name): StorageError (75) for no space and I/O errors, NotWritableError
    (3) for permission, not-a-folder, read-only filesystem and other lasting causes. The message
    names the path, the cause in words and the errno name."""
    import errno as _errno
    import os as _os

    code = exc.errno if isinstance(exc.errno, int) else None
    name = _errno.errorcode.get(code, "") if code is not None else ""
    where = _os.fspath(path) if isinstance(path, (str, _os.PathLike)) else (exc.filename or "")
    other = exc.filename if exc.filename and _os.fspath(exc.filename) != where else None
    if other is not None and ".genpost-tmp-" in _os.fspath(other):
        other = None  # our own temporary: the final path says it all
    cause = exc.strerror or str(exc) or type(exc).__name__
    text = f"cannot {action} {where}: {cause}" if where else f"cannot {action}: {cause}"
    if other:
        text += f" ({other})"
    if name:
        text += f" [{name}]"
    hint = {
        "ENOSPC": "free space on that filesystem, then rerun (finished frames are kept)",
        "EDQUOT": "the disk quota is full; free space, then rerun (finished frames are kept)",
        "EROFS": "the filesystem is mounted read-only; choose another output folder",
        "EACCES": "no permission; choose another folder or fix its permissions",
        "EPERM": "not permitted; choose another folder or fix its permissions",
        "ENOTDIR": "a file stands where a folder is needed",
        "EEXIST": "a file stands where a folder is needed",
        "EISDIR": "a folder stands where a file is needed",
    }.get(name)
    if hint:
        text += f": {hint}"
    cls = StorageError if name in TRANSIENT_ERRNOS else NotWritableError
    return cls(text)
