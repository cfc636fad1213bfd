"""One frame being extended: the image and, per pixel, where its value came from.

A :class:`Canvas` starts as the frame's trusted (degrained) plate with the work region to
fill. Fill stages write into it and record, per pixel: the ``source`` code, the patch ``label``
(seams between patches are blended away), the fraction ``plate`` of the pixel's weight that came
from other frames' plate pixels (a keyframe pixel reprojected between plate and generated
neighbours is partly each), and the class ``other`` of whatever else it holds (keyframe or
generated). :meth:`Canvas.blend` finishes it in the gradient domain; :func:`output_source`
turns the records into the ``source`` channel of a soft-matted pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...conditioning.morphology import box_sum
from ...consistency.blend import harmonise, ring_around
from ...consistency.poisson import poisson_blend, same_surface
from .params import SOURCE_GENERATED, SOURCE_OTHER_FRAME, SOURCE_PLATE

#: Width (pixels) of the ring of final pixels a reprojected patch is matched to (consistency.blend).
HARMONISE_RING = 4
#: Patch labels: other frames' plates use their frame number; keyframes KEYFRAME_LABEL + frame.
KEYFRAME_LABEL, GENERATED_LABEL, PLATE_LABEL = 10_000_000, -1, -2
#: Corrections of the blend fade over this distance from the seam or edge they fix (pixels, at
#: least; REACH_FRACTION of the image's larger side at high resolutions): a mismatch at the
#: matte edge never tints the whole extension, and a frame's correction (solved per frame) stays
#: near where it arises: spread far, small per-frame differences in the boundary flicker.
REACH_PX, REACH_FRACTION = 16, 0.05
#: The fade holds the extension to a continuation of the kept plate over the first part of the
#: fade band (this fraction of the ramp), then lets its structure in.
FADE_HOLD = 0.3
#: ``source`` is "another frame's plate" only when at least this much of the pixel's weight is.
OTHER_FRAME_WEIGHT = 0.99


@dataclass
class Canvas:
    """A frame being filled (see the module docstring). ``known``: pixels final so far (trusted
    plate and filled ones); ``missing``: still to fill; ``fixed``: the frame's own trusted plate."""

    image: np.ndarray
    source: np.ndarray
    label: np.ndarray
    plate: np.ndarray
    other: np.ndarray
    missing: np.ndarray
    known: np.ndarray
    fixed: np.ndarray
    depth: np.ndarray | None = None

    @classmethod
    def start(cls, image: np.ndarray, trusted: np.ndarray, work: np.ndarray, depth: np.ndarray | None = None) -> "Canvas":
        """The trusted ``image`` with ``work`` (bool) to fill; untrusted pixels are unknown.
        ``depth``: the frame's depth; nothing is matched across its discontinuities (a patch is
        not gain-matched to a lamp post in front of it, nor blended into it)."""
        shape = trusted.shape
        img = np.where(trusted[..., None], image, 0.0).astype(np.float32)
        return cls(
            image=img,
            source=np.zeros(shape, np.uint8),
            label=np.full(shape, PLATE_LABEL, np.int64),
            plate=np.zeros(shape, np.float32),
            other=np.zeros(shape, np.uint8),
            missing=work.copy(),
            known=trusted & ~work,
            fixed=trusted & ~work,
            depth=depth,
        )

    @property
    def filled(self) -> np.ndarray:
        """Pixels the fill stages wrote."""
        return self.label != PLATE_LABEL

    def ring(self) -> np.ndarray:
        """Known pixels around what is still missing (the ring a patch is gain-matched to)."""
        return ring_around(self.missing, HARMONISE_RING) & self.known

    def put(self, ok: np.ndarray, sampled: np.ndarray, seen: np.ndarray, *, label: int, plate: np.ndarray, other: int) -> None:
        """Fill ``ok`` from ``sampled`` (H, W, 3), gain-matched on the known ring pixels the
        source also ``seen``. ``plate`` (H, W): the other-frame plate weight of each sample;
        ``other``: the class of the rest (keyframe or generated)."""
        ring = ring_around(self.missing, HARMONISE_RING) & self.known & seen
        if self.depth is not None and ring.any():
            ring &= _on_surface_of(ok, self.depth, HARMONISE_RING)
        self.image[ok] = harmonise(self.image, sampled, ok, ring)
        weight = plate[ok]
        from_plate = weight >= OTHER_FRAME_WEIGHT
        self.plate[ok] = weight
        self.other[ok] = np.where(from_plate, 0, other)
        self.source[ok] = np.where(from_plate, SOURCE_OTHER_FRAME, other)
        self.label[ok] = label
        self.missing &= ~ok
        self.known |= ok

    def put_generated(self, ok: np.ndarray, values: np.ndarray) -> None:
        """Fill ``ok`` with generated ``values`` (N, 3) in ``ok``'s order."""
        self.image[ok] = values
        self.source[ok] = SOURCE_GENERATED
        self.plate[ok] = 0.0
        self.other[ok] = SOURCE_GENERATED
        self.label[ok] = GENERATED_LABEL
        self.missing &= ~ok
        self.known |= ok

    def put_filled(self, ok: np.ndarray) -> None:
        """Fill ``ok`` smoothly from the known pixels around it (pull-push): pixels that are only
        context for blending, never output, need no generator."""
        from ...conditioning.pullpush import pull_push

        values = pull_push(np.where(self.known[..., None], self.image, 0.0), self.known.astype(np.float32))
        self.put_generated(ok, values[ok])

    def blend(self, anchor: np.ndarray | None = None, anchor_values: np.ndarray | None = None,
              kept: np.ndarray | None = None, fade: int = 0, generated_last: bool = False) -> None:
        """Gradient-domain finish: the filled pixels keep their gradients within each patch and
        meet the frame's trusted plate and each other without steps (consistency.poisson).
        ``anchor`` pixels (filled or not) are held too: kept plate the extension must meet;
        ``anchor_values`` are the boundary's values (the frame's plate) where given. With ``kept`` (the pixels whose plate is
        output as it is) the extension's own structure fades in over ``fade`` pixels from
        them: right at the matte edge it continues the plate, so no seam shows there.
        ``generated_last``: the pixels generated for this frame alone (label GENERATED_LABEL)
        are solved after the rest, with the rest fixed: per-frame content meets what other
        frames and keyframes carry, never pulls it (a render's per-frame holes would flicker
        through a wide neighbourhood). With the
        canvas's ``depth``, nothing is matched or faded across a depth discontinuity: kept plate
        in front of the extension (a lamp post, a building's edge) is not its boundary."""
        domain = self.filled
        fixed = self.fixed
        depth = self.depth
        boundary = self.image
        if anchor is not None and anchor.any():
            domain = domain & ~anchor
            fixed = fixed | anchor
        if anchor_values is not None:  # the whole boundary as given (anchors are not on the canvas)
            boundary = np.where(fixed[..., None], anchor_values, self.image)
        weight = None
        if kept is not None and fade > 0 and depth is not None:
            kept = kept & same_surface(domain, depth, fade)
        if kept is not None and fade > 0 and kept.any():
            # 0 at the kept plate, rising to 1 about ``fade`` pixels inside (linear across a
            # straight edge): one box filter instead of a distance transform
            near = box_sum(kept.astype(np.float32), fade) / np.float32((2 * fade + 1) ** 2)
            weight = np.clip((1.0 - 2.0 * near - FADE_HOLD) / (1.0 - FADE_HOLD), 0.0, 1.0)
        reach = max(REACH_PX, REACH_FRACTION * max(self.image.shape[:2]))
        last = domain & (self.label == GENERATED_LABEL) if generated_last else np.zeros_like(domain)
        first = domain & ~last
        if first.any():
            self.image = poisson_blend(boundary, self.image, first, fixed, self.label, weight=weight, reach=reach, depth=depth)
        if last.any():  # this frame's own generated pixels meet the rest; it never moves for them
            boundary = np.where(fixed[..., None], boundary, self.image)
            self.image = poisson_blend(boundary, self.image, last, fixed | first, self.label, weight=weight, reach=REACH_PX, depth=depth)


def _on_surface_of(mask: np.ndarray, depth: np.ndarray, r: int) -> np.ndarray:
    """Pixels on the surfaces of ``mask``'s pixels within ``r`` (consistency.poisson.same_surface),
    worked on ``mask``'s bounding box grown by ``r``; False outside it."""
    out = np.zeros(mask.shape, bool)
    ys, xs = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(ys):
        return out
    y0, y1 = max(0, ys[0] - r), min(mask.shape[0], ys[-1] + r + 1)
    x0, x1 = max(0, xs[0] - r), min(mask.shape[1], xs[-1] + r + 1)
    out[y0:y1, x0:x1] = same_surface(mask[y0:y1, x0:x1], depth[y0:y1, x0:x1], r)
    return out


def output_source(matte: np.ndarray, plate: np.ndarray, other: np.ndarray) -> np.ndarray:
    """The ``source`` code of output pixels ``plate * (1 - m) + extension * m``, from the
    extension's other-frame plate weight ``plate`` and the class ``other`` of the rest.

    1 (another frame's plate) only when at least OTHER_FRAME_WEIGHT of the pixel's weight comes
    from other frames' plate pixels (``m * plate``); otherwise the pixel's own plate (0) when the
    matte is below one half, else the class the extension mixes in (keyframe 2, generated 3),
    else 0 (plate only: its own and other frames')."""
    m = np.asarray(matte, np.float32)
    out = np.where(m < 0.5, SOURCE_PLATE, other)
    return np.where(m * plate >= OTHER_FRAME_WEIGHT, SOURCE_OTHER_FRAME, out).astype(np.uint8)
