"""The bundled street set as plain data: boxes, planes, materials, camera move.

Y-up, metres. The street runs along Z; the camera dollies towards -Z. Everything here is pure
numpy/dataclasses so the USD author (:mod:`.street`) and the renderer (:mod:`.raycast`) read the
same numbers.

"Filmed" (the set that was built and shot) is, per box, the part below ``film_y`` and in front of
``film_z`` (z >= film_z); everything else (upper storeys above the cut, the far street, the sky
dome) is the extension, shown as blue screen in the plate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Height (m) where the filmed set stops: blue screen above it.
CUT_HEIGHT = 6.5
#: The filmed street ends here (towards -Z); beyond it is extension.
SET_END_Z = -50.0
#: Half width of the road (kerb line) and of the road + pavements.
ROAD_HALF = 6.0
PAVEMENT_OUTER = 10.0
KERB_HEIGHT = 0.15
#: The filmed ground patch: |x| <= SET_GROUND_HALF_X and SET_END_Z <= z <= SET_GROUND_FAR_Z.
SET_GROUND_HALF_X = 60.0
SET_GROUND_NEAR_Z = 60.0
#: Sky dome (the far backdrop: every ray hits something).
DOME_CENTER = (0.0, 0.0, -80.0)
DOME_RADIUS = 600.0
#: Camera lens (mm, as DCCs author them; only ratios matter for K).
FOCAL_LENGTH = 30.0
HORIZONTAL_APERTURE = 36.0
CLIPPING_RANGE = (0.1, 5000.0)
FPS = 24.0

# Material kinds of boxes.
KIND_BRICK, KIND_CONCRETE, KIND_STUCCO, KIND_PAVEMENT, KIND_METAL = 0, 1, 2, 3, 4

# Albedos in linear Rec.709 (converted to ACEScg at the end of shading).
_BRICKS = [(0.30, 0.10, 0.06), (0.34, 0.16, 0.09), (0.22, 0.09, 0.065), (0.42, 0.30, 0.17)]
_CONCRETES = [(0.36, 0.35, 0.33), (0.27, 0.27, 0.27), (0.42, 0.39, 0.34)]
_STUCCOS = [(0.55, 0.46, 0.32), (0.34, 0.39, 0.42), (0.50, 0.26, 0.15), (0.26, 0.33, 0.26), (0.60, 0.56, 0.50)]
_TRIMS = [(0.70, 0.68, 0.64), (0.08, 0.08, 0.08), (0.55, 0.50, 0.42), (0.20, 0.26, 0.22)]
#: (No sign is as saturated a red as the car in samples.props: QC finds the car by its colour.)
_SIGNS = [(0.45, 0.13, 0.05), (0.04, 0.18, 0.10), (0.04, 0.07, 0.25), (0.55, 0.40, 0.05), (0.12, 0.12, 0.12)]


@dataclass
class Box:
    """An axis-aligned box with facade parameters (buildings, pavements, props)."""

    name: str
    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    kind: int
    colour: tuple[float, float, float]
    trim: tuple[float, float, float] = (0.7, 0.7, 0.7)
    sign: tuple[float, float, float] = (0.3, 0.05, 0.05)
    building: bool = False
    film_y: float = -math.inf  # filmed below this height ...
    film_z: float = math.inf  # ... and at z >= this
    bay: float = 3.0
    window_w: float = 1.3
    window_h: float = 1.7
    storey: float = 3.2
    ground_floor: float = 4.2
    seed: int = 0


@dataclass
class StreetScene:
    boxes: list[Box] = field(default_factory=list)
    cut_height: float = CUT_HEIGHT
    set_end_z: float = SET_END_Z
    sun: tuple[float, float, float] = (0.45, 0.85, 0.30)
    #: Crowd region: the left pavement strip, in the sun (x0, x1, z_near, z_far, y).
    crowd_region: tuple[float, float, float, float, float] = (-9.6, -6.6, -16.0, -48.0, KERB_HEIGHT)

    @property
    def sun_dir(self) -> np.ndarray:
        s = np.asarray(self.sun, dtype=np.float64)
        return s / np.linalg.norm(s)


def build_scene(seed: int = 0) -> StreetScene:
    """The street layout for ``seed`` (deterministic)."""
    rng = np.random.default_rng(seed)
    scene = StreetScene()
    boxes = scene.boxes
    # Pavements (kerb-high boxes) on both sides, the whole length of the street.
    for side, name in ((-1, "left"), (1, "right")):
        x0, x1 = sorted((side * ROAD_HALF, side * (PAVEMENT_OUTER + 14.0)))
        boxes.append(Box(f"pavement_{name}", (x0, 0.0, -260.0), (x1, KERB_HEIGHT, 40.0), KIND_PAVEMENT,
                         (0.42, 0.41, 0.39), film_y=math.inf, film_z=SET_END_Z))
    # Buildings.
    for side, name in ((-1, "L"), (1, "R")):
        z = 26.0 + float(rng.uniform(0, 4))
        index = 0
        while z > -250.0:
            width = float(rng.uniform(8.0, 16.0))
            zmax, zmin = z, z - width
            setback = float(rng.choice([0.0, 0.0, 0.0, 0.6, 1.2]))
            depth = float(rng.uniform(12.0, 18.0))
            front = PAVEMENT_OUTER + setback
            far_street = zmax < SET_END_Z + 5.0
            storey = float(rng.uniform(3.0, 3.5))
            ground = float(rng.uniform(4.0, 4.6))
            floors = int(rng.integers(4, 9) if not far_street else rng.integers(6, 14))
            height = ground + floors * storey + 0.8
            kind = int(rng.choice([KIND_BRICK, KIND_BRICK, KIND_BRICK, KIND_CONCRETE, KIND_STUCCO, KIND_STUCCO]))
            palette = {KIND_BRICK: _BRICKS, KIND_CONCRETE: _CONCRETES, KIND_STUCCO: _STUCCOS}[kind]
            colour = palette[int(rng.integers(len(palette)))]
            jitter = rng.uniform(0.9, 1.1, size=3)
            colour = tuple(float(c * j) for c, j in zip(colour, jitter))
            bay = float(rng.uniform(2.6, 3.6))
            lo_x, hi_x = sorted((side * front, side * (front + depth)))
            filmed = not far_street and zmin > SET_END_Z - 10.0
            boxes.append(Box(
                f"bldg_{name}{index:02d}", (lo_x, 0.0, zmin), (hi_x, height, zmax), kind, colour,
                trim=_TRIMS[int(rng.integers(len(_TRIMS)))], sign=_SIGNS[int(rng.integers(len(_SIGNS)))],
                building=True, film_y=CUT_HEIGHT if filmed else -math.inf, film_z=-math.inf,
                bay=bay, window_w=float(rng.uniform(0.9, 0.55 * bay + 0.3)) if bay > 0 else 1.2,
                window_h=float(rng.uniform(1.4, min(2.1, storey - 0.9))), storey=storey,
                ground_floor=ground, seed=int(rng.integers(1 << 30)),
            ))
            index += 1
            gap = float(rng.choice([0.0, 0.0, 0.0, 3.0, 4.5]))
            z = zmin - gap
    # Lamp posts along the kerbs in the filmed street (occluders for the crowd).
    for side, name in ((-1, "left"), (1, "right")):
        for i, zc in enumerate(np.arange(18.0, SET_END_Z + 4.0, -14.0)):
            x = side * (ROAD_HALF + 0.45)
            boxes.append(Box(f"lamp_{name}_{i:02d}", (x - 0.09, KERB_HEIGHT, zc - 0.09), (x + 0.09, 5.2, zc + 0.09),
                             KIND_METAL, (0.05, 0.06, 0.055), film_y=math.inf, film_z=-math.inf))
            arm_x0, arm_x1 = sorted((x, x - side * 1.3))
            boxes.append(Box(f"lamp_{name}_{i:02d}_arm", (arm_x0, 5.0, zc - 0.07), (arm_x1, 5.15, zc + 0.07),
                             KIND_METAL, (0.05, 0.06, 0.055), film_y=math.inf, film_z=-math.inf))
    return scene


# ---------------------------------------------------------------------------------------------
# Camera
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CameraPose:
    """Position (m) and yaw/tilt (degrees; yaw about +Y, tilt about the camera's X)."""

    position: tuple[float, float, float]
    yaw: float
    tilt: float


def camera_pose(u: float) -> CameraPose:
    """The camera move at normalised time ``u`` in [0, 1]: a dolly down the street that cranes
    up a little and pans from left to right (eased in and out)."""
    s = u * u * (3.0 - 2.0 * u)
    p0 = np.array([-1.6, 1.7, 14.0])
    p1 = np.array([0.6, 3.4, 4.0])
    pos = p0 + (p1 - p0) * s
    return CameraPose(tuple(float(v) for v in pos), 5.0 + (-7.0 - 5.0) * s, 5.0 + (9.0 - 5.0) * s)


def intrinsics(width: int, height: int) -> np.ndarray:
    """K for the authored lens (apertures match the image aspect, so no conform is needed)."""
    vertical_aperture = HORIZONTAL_APERTURE * height / width
    fx = width * FOCAL_LENGTH / HORIZONTAL_APERTURE
    fy = height * FOCAL_LENGTH / vertical_aperture
    return np.array([[fx, 0.0, width / 2.0 - 0.5], [0.0, fy, height / 2.0 - 0.5], [0.0, 0.0, 1.0]])
