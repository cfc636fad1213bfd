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
