"""The one seed rule: a seed derives from (job seed, frame number, purpose) only, never from
chunk boundaries or call order, so any chunking of a shot gives the same noise.

Jobs call :func:`derive_seed` with a purpose ("keyframe:0", "holes-window", ...) so that two
uses on one frame differ; generators call it (as :func:`frame_seed`) with the request's seed
and a frame number (the frame, or a video window's first frame).
"""

from __future__ import annotations

import hashlib

import numpy as np

#: Mixed into every seed ("gen"), so genpost's streams differ from a bare SeedSequence(seed).
_TAG = 0x67656E


def derive_seed(seed: int, frame: int, purpose: str = "") -> int:
    """A 63-bit seed from (``seed``, ``frame``, ``purpose``) through numpy's SeedSequence."""
    seed, frame = int(seed), int(frame)
    entropy = [seed & 0xFFFFFFFF, seed >> 32, frame & 0xFFFFFFFF, _TAG]
    if purpose:
        digest = hashlib.sha256(purpose.encode("utf-8")).digest()
        entropy += [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    state = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]
    return int(state >> np.uint64(1))


def frame_seed(seed: int, frame: int) -> int:
    """:func:`derive_seed` with no purpose: the seed a generator uses for ``frame``."""
    return derive_seed(seed, frame)
