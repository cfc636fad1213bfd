"""What the bundled street's plate holds that the set does not: a car and a lighting rig.

A real plate is never just the set. The bundled shot's plate carries two things that the CG
renders (depth, the USD set) do not know about, so the demo meets every kind of ``source``:

- **a car** (a red hatchback) driving away along the right kerb (6 m/s), clear of the rig and of
  the screen's edge: moving content that set extension must never copy into another frame's extension. Its
  coverage per frame is the sample's ``holdout.####.exr`` (what ``--holdout`` takes); the demo
  runs without it, on the automatic rejection of moving content;
- **a rig to remove** (a C-stand with a black flag, sandbag and gobo arm) standing on the road
  in front of the filmed set: the extend matte holds its roto (its silhouette grown by
  :func:`roto_grow` pixels), and the set behind it, which other frames saw as the camera moves,
  is what fills it.

Neither is in ``truth.####.exr`` (the clean set) nor in the depth. Boxes are axis-aligned, Y-up,
metres, in the scene's conventions (:mod:`.scene`); albedos are linear Rec.709 (``KIND_METAL``
boxes shade with their colour). Positions depend on normalised shot time ``u`` in [0, 1], like
the camera, so a shot of any length shows the same motion.
"""

from __future__ import annotations

import math

from . import scene as sc

#: Box name prefixes: the car is moving content, the rig is what the roto removes.
CAR_PREFIX, RIG_PREFIX = "car_", "rig_"
#: The rig's foot on the road (x, z): the left lane, ahead of the camera's end position; its
#: flag hangs towards the left pavement, which other frames see behind it as the camera moves.
RIG_FOOT = (-2.6, -11.0)
#: The car's lane centre (x; along the right kerb, so the right facades, not the screen, are
#: behind it) and its centre's z at the shot's start and end (driving away, 6 m/s).
CAR_LANE_X = 4.4
CAR_Z = (-4.0, -16.0)
CAR_LENGTH, CAR_WIDTH = 4.2, 1.75

#: The car's paint (linear Rec.709 albedo): a red the set never shows (QC looks for it).
CAR_PAINT = (0.50, 0.035, 0.03)
_GLASS = (0.025, 0.03, 0.035)
_TYRES = (0.015, 0.015, 0.015)
_STEEL = (0.30, 0.30, 0.31)
_BLACK_CLOTH = (0.012, 0.012, 0.012)
_SANDBAG = (0.45, 0.18, 0.03)


def _box(name: str, lo: tuple[float, float, float], hi: tuple[float, float, float],
         colour: tuple[float, float, float]) -> sc.Box:
    return sc.Box(name, lo, hi, sc.KIND_METAL, colour, film_y=math.inf, film_z=-math.inf)


def car_boxes(u: float) -> list[sc.Box]:
    """The car at normalised shot time ``u``: tyres and sills, painted body, glass cabin."""
    s = min(max(float(u), 0.0), 1.0)
    zc = CAR_Z[0] + (CAR_Z[1] - CAR_Z[0]) * s
    x0, x1 = CAR_LANE_X - CAR_WIDTH / 2, CAR_LANE_X + CAR_WIDTH / 2
    z0, z1 = zc - CAR_LENGTH / 2, zc + CAR_LENGTH / 2
    return [
        _box(f"{CAR_PREFIX}tyres", (x0 + 0.05, 0.0, z0 + 0.25), (x1 - 0.05, 0.32, z1 - 0.25), _TYRES),
        _box(f"{CAR_PREFIX}body", (x0, 0.32, z0), (x1, 0.95, z1), CAR_PAINT),
        _box(f"{CAR_PREFIX}cabin", (x0 + 0.1, 0.95, z0 + 0.9), (x1 - 0.1, 1.42, z1 - 1.1), _GLASS),
        _box(f"{CAR_PREFIX}roof", (x0 + 0.12, 1.42, z0 + 1.0), (x1 - 0.12, 1.47, z1 - 1.2), CAR_PAINT),
    ]


def rig_boxes() -> list[sc.Box]:
    """The C-stand: legs, sandbag, riser, gobo arm and a 1.2 x 0.9 m black flag (static)."""
    x, z = RIG_FOOT
    return [
        _box(f"{RIG_PREFIX}leg_x", (x - 0.45, 0.0, z - 0.03), (x + 0.45, 0.05, z + 0.03), _STEEL),
        _box(f"{RIG_PREFIX}leg_z", (x - 0.03, 0.0, z - 0.45), (x + 0.03, 0.05, z + 0.45), _STEEL),
        _box(f"{RIG_PREFIX}sandbag", (x - 0.45, 0.05, z - 0.12), (x - 0.08, 0.2, z + 0.12), _SANDBAG),
        _box(f"{RIG_PREFIX}riser", (x - 0.025, 0.05, z - 0.025), (x + 0.025, 2.1, z + 0.025), _STEEL),
        _box(f"{RIG_PREFIX}arm", (x - 1.5, 1.9, z - 0.02), (x + 0.05, 1.95, z + 0.02), _BLACK_CLOTH),
        _box(f"{RIG_PREFIX}flag", (x - 1.45, 1.0, z - 0.01), (x - 0.25, 1.9, z + 0.01), _BLACK_CLOTH),
    ]


def plate_props(u: float) -> list[sc.Box]:
    """Everything the plate shows beyond the set at normalised time ``u`` (car, then rig)."""
    return car_boxes(u) + rig_boxes()


def roto_grow(width: int) -> int:
    """Pixels the rig's roto extends beyond its silhouette (a garbage matte: 6 px at 960)."""
    return max(1, int(round(width / 160)))


__all__ = ["CAR_PAINT", "CAR_PREFIX", "RIG_PREFIX", "car_boxes", "rig_boxes", "plate_props", "roto_grow"]
