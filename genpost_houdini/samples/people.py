"""Synthetic people for the bundled extras library: designs, walk and idle poses in 3D.

Convention: person-local space in metres, +y up, +z the way the person faces, +x the person's
left (right-handed); the origin is on the ground under the pelvis. A pose is a dict of named 3D
joints. The walk is a treadmill cycle: the pelvis stays at the origin while the planted foot
(its ball, ``ball_l``/``ball_r``) moves backwards at exactly :meth:`Person.walk_speed`, so a
card moved forwards at that speed has feet locked to the ground. No real person is depicted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

RGB = tuple[float, float, float]

#: Fraction of the walk cycle a foot is on the ground.
STANCE = 0.6
#: Where the ball of a planted foot starts and ends its stance, as fractions of the stance
#: length ahead of the pelvis (forwards-biased so the trailing heel lifts, like a real step).
STANCE_FRONT = 0.68


@dataclass(frozen=True)
class Person:
    """One synthetic extra: body, clothing, hair and how they move."""

    name: str
    height: float  # metres, feet to crown
    build: float  # girth factor (1 = average)
    skin: RGB
    hair: RGB
    hair_style: str  # short, long, bun, bald, curly; headwear: cap, beanie, scarf (recolourable)
    top: RGB
    top2: RGB  # pattern / inner colour
    top_pattern: str  # solid, stripes, checks, jacket, blocks
    sleeves: str  # long, short
    bottom: RGB
    bottom_kind: str  # trousers, shorts, skirt
    shoes: RGB
    cycle_frames: int = 24  # walk cycle length at 24 fps (two steps)
    stride: float = 1.0  # stride length factor
    idle_pose: str = "hang"  # hang, pockets, crossed, phone
    bag: RGB | None = None
    cap: RGB | None = None
    extras: dict = field(default_factory=dict)

    def stance_length(self) -> float:
        """How far (m) a planted foot travels relative to the pelvis during one stance."""
        return 0.34 * self.height * self.stride

    def walk_speed(self, fps: float = 24.0) -> float:
        """Metres per second the treadmill cycle walks (stance length over stance time)."""
        return self.stance_length() / (STANCE * self.cycle_frames / fps)


def _lin(c: RGB) -> RGB:
    """sRGB-ish display value -> linear (the palette below is authored as display values)."""
    return tuple(float(v) ** 2.2 for v in c)  # type: ignore[return-value]


def _p(name: str, **kw: object) -> Person:
    colour_keys = ("skin", "hair", "top", "top2", "bottom", "shoes", "bag", "cap")
    for k in colour_keys:
        if kw.get(k) is not None:
            kw[k] = _lin(kw[k])  # type: ignore[arg-type]
    return Person(name=name, **kw)  # type: ignore[arg-type]


#: The bundled people: chosen so their clothing spans hue and value, with a spread of skin
#: tones, heights, builds, hair and gait. Colours are display-referred sRGB values here.
PEOPLE: tuple[Person, ...] = (
    _p("ada", height=1.66, build=0.92, skin=(0.93, 0.76, 0.64), hair=(0.55, 0.33, 0.16), hair_style="long",
       top=(0.78, 0.20, 0.20), top2=(0.95, 0.92, 0.85), top_pattern="solid", sleeves="short",
       bottom=(0.34, 0.44, 0.62), bottom_kind="trousers", shoes=(0.9, 0.9, 0.88), cycle_frames=23, stride=0.97,
       idle_pose="phone", bag=(0.35, 0.2, 0.1)),
    _p("bram", height=1.86, build=1.12, skin=(0.55, 0.37, 0.25), hair=(0.06, 0.05, 0.05), hair_style="cap",
       top=(0.30, 0.50, 0.36), top2=(0.20, 0.22, 0.20), top_pattern="jacket", sleeves="long",
       bottom=(0.62, 0.56, 0.42), bottom_kind="trousers", shoes=(0.12, 0.08, 0.06), cycle_frames=27, stride=1.02,
       idle_pose="pockets", cap=(0.30, 0.50, 0.36)),
    _p("chen", height=1.71, build=0.95, skin=(0.86, 0.70, 0.55), hair=(0.04, 0.04, 0.05), hair_style="bun",
       top=(0.88, 0.70, 0.25), top2=(0.42, 0.42, 0.48), top_pattern="stripes", sleeves="long",
       bottom=(0.58, 0.34, 0.40), bottom_kind="skirt", shoes=(0.05, 0.05, 0.05), cycle_frames=24, stride=0.95,
       idle_pose="crossed"),
    _p("dayo", height=1.79, build=1.0, skin=(0.36, 0.23, 0.15), hair=(0.05, 0.04, 0.04), hair_style="curly",
       top=(0.76, 0.76, 0.74), top2=(0.3, 0.5, 0.8), top_pattern="solid", sleeves="short",
       bottom=(0.50, 0.50, 0.32), bottom_kind="trousers", shoes=(0.75, 0.2, 0.15), cycle_frames=25, stride=1.05,
       idle_pose="hang"),
    _p("elin", height=1.61, build=0.88, skin=(0.96, 0.82, 0.72), hair=(0.85, 0.68, 0.38), hair_style="long",
       top=(0.45, 0.60, 0.80), top2=(0.90, 0.90, 0.90), top_pattern="checks", sleeves="long",
       bottom=(0.70, 0.64, 0.52), bottom_kind="trousers", shoes=(0.35, 0.22, 0.12), cycle_frames=22, stride=0.96,
       idle_pose="hang", bag=(0.65, 0.12, 0.2)),
    _p("farid", height=1.75, build=1.06, skin=(0.72, 0.52, 0.36), hair=(0.12, 0.08, 0.06), hair_style="cap",
       top=(0.50, 0.30, 0.58), top2=(0.82, 0.82, 0.82), top_pattern="blocks", sleeves="long",
       bottom=(0.46, 0.47, 0.50), bottom_kind="trousers", shoes=(0.92, 0.92, 0.92), cycle_frames=26, stride=1.0,
       idle_pose="phone", cap=(0.50, 0.30, 0.58)),
    _p("greta", height=1.69, build=1.18, skin=(0.90, 0.72, 0.62), hair=(0.62, 0.62, 0.6), hair_style="short",
       top=(0.90, 0.52, 0.24), top2=(0.3, 0.2, 0.1), top_pattern="solid", sleeves="long",
       bottom=(0.44, 0.48, 0.54), bottom_kind="trousers", shoes=(0.2, 0.15, 0.1), cycle_frames=27, stride=0.92,
       idle_pose="crossed"),
    _p("hiro", height=1.82, build=0.9, skin=(0.80, 0.62, 0.46), hair=(0.03, 0.03, 0.04), hair_style="beanie",
       top=(0.36, 0.40, 0.48), top2=(0.72, 0.20, 0.20), top_pattern="jacket", sleeves="long",
       bottom=(0.66, 0.58, 0.45), bottom_kind="trousers", shoes=(0.1, 0.1, 0.1), cycle_frames=25, stride=1.04,
       idle_pose="pockets", bag=(0.1, 0.1, 0.1), cap=(0.36, 0.40, 0.48)),
    _p("ines", height=1.64, build=1.0, skin=(0.62, 0.42, 0.29), hair=(0.25, 0.13, 0.07), hair_style="scarf",
       top=(0.32, 0.62, 0.58), top2=(0.20, 0.38, 0.38), top_pattern="stripes", sleeves="short",
       bottom=(0.84, 0.80, 0.72), bottom_kind="shorts", shoes=(0.6, 0.45, 0.3), cycle_frames=23, stride=0.98,
       idle_pose="hang", cap=(0.32, 0.62, 0.58)),
    _p("jon", height=1.91, build=1.02, skin=(0.94, 0.78, 0.68), hair=(0.45, 0.22, 0.09), hair_style="beanie",
       top=(0.60, 0.22, 0.30), top2=(0.86, 0.80, 0.68), top_pattern="checks", sleeves="long",
       bottom=(0.50, 0.40, 0.30), bottom_kind="trousers", shoes=(0.3, 0.2, 0.12), cycle_frames=28, stride=1.03,
       idle_pose="hang", cap=(0.60, 0.22, 0.30)),
)


def _ik_knee(hip: np.ndarray, ankle: np.ndarray, thigh: float, shin: float) -> tuple[np.ndarray, np.ndarray]:
    """(knee, ankle) of a two-bone leg reaching for ``ankle``; the knee bends forwards (+z)."""
    d = ankle - hip
    dist = float(np.linalg.norm(d))
    reach = thigh + shin - 1e-4
    if dist > reach:
        ankle = hip + d * (reach / dist)
        d = ankle - hip
        dist = reach
    u = d / max(dist, 1e-9)
    a = (thigh * thigh - shin * shin + dist * dist) / (2 * dist)
    h = math.sqrt(max(thigh * thigh - a * a, 0.0))
    # Perpendicular to the leg within the leg's sagittal plane, pointing forwards.
    side = np.array([1.0, 0.0, 0.0])
    perp = np.cross(side, u)
    if perp[2] < 0:
        perp = -perp
    return hip + u * a + perp * h, ankle


def _foot_walk(person: Person, phase: float) -> tuple[np.ndarray, bool]:
    """Ball of the foot (y, z) at walk ``phase`` in [0, 1): stance first, then swing."""
    s = person.stance_length()
    front, back = STANCE_FRONT * s, -(1.0 - STANCE_FRONT) * s
    ball_h = 0.025
    if phase < STANCE:
        u = phase / STANCE
        return np.array([ball_h, front + (back - front) * u]), True
    u = (phase - STANCE) / (1.0 - STANCE)
    ease = u * u * (3 - 2 * u)
    lift = 0.07 * person.height / 1.75 * math.sin(math.pi * u) ** 1.5
    return np.array([ball_h + lift, back + (front - back) * ease]), False


def pose(person: Person, clip: str, phase: float) -> tuple[dict[str, np.ndarray], dict[str, bool]]:
    """Joints (person-local metres) at ``phase`` in [0, 1) of ``clip`` ("walk" or "idle"), and
    which feet are planted."""
    H, b = person.height, person.build
    thigh, shin = 0.245 * H, 0.245 * H
    ankle_h, foot_len = 0.045 * H, 0.14 * H
    hip_w = 0.052 * H * (0.85 + 0.15 * b)
    sh_w = 0.105 * H * (0.9 + 0.1 * b)
    upper, fore = 0.17 * H, 0.155 * H
    j: dict[str, np.ndarray] = {}
    planted = {"l": True, "r": True}
    if clip == "walk":
        bob = 0.012 * H * (0.5 - 0.5 * math.cos(4 * math.pi * phase))
        sway = 0.012 * H * math.sin(2 * math.pi * phase)
        pelvis_y = 0.505 * H - bob
        twist = 0.12 * math.sin(2 * math.pi * phase)
        lean = 0.04
    else:
        sway = 0.015 * H * math.sin(2 * math.pi * phase)
        pelvis_y = 0.515 * H - 0.004 * H * (1 + math.sin(4 * math.pi * phase))
        twist = 0.03 * math.sin(2 * math.pi * phase + 1.0)
        lean = 0.0
    pelvis = np.array([sway * 0.5, pelvis_y, 0.0])
    j["pelvis"] = pelvis
    for side, sx, ph in (("l", 1.0, 0.0), ("r", -1.0, 0.5)):
        hip = pelvis + np.array([sx * hip_w * math.cos(twist), 0.0, -sx * hip_w * math.sin(twist)])
        if clip == "walk":
            (by, bz), down = _foot_walk(person, (phase + ph) % 1.0)
            ball = np.array([sx * 0.9 * hip_w, by, bz])
            planted[side] = down
        else:
            stance_w = 1.25 * hip_w + (0.02 * H if person.idle_pose != "crossed" else 0.0)
            ball = np.array([sx * stance_w, 0.025, 0.05 * H * (0.25 if side == "l" else -0.1)])
        # Ankle behind the ball of the foot; the heel lifts when the leg cannot reach.
        heel_dir = np.array([0.0, 0.0, -1.0])
        ankle = ball + np.array([0.0, ankle_h - 0.025, 0.0]) + heel_dir * (0.62 * foot_len)
        reach = thigh + shin - 0.01 * H
        for _ in range(12):
            if np.linalg.norm(ankle - hip) <= reach:
                break
            # Rotate the foot about the ball: the heel rises.
            rel = ankle - ball
            ang = 0.12
            c, s = math.cos(ang), math.sin(ang)
            ankle = ball + np.array([rel[0], c * rel[1] - s * rel[2], s * rel[1] + c * rel[2]])
        knee, ankle = _ik_knee(hip, ankle, thigh, shin)
        j[f"hip_{side}"], j[f"knee_{side}"], j[f"ankle_{side}"], j[f"ball_{side}"] = hip, knee, ankle, ball
        j[f"toe_{side}"] = ball + (ball - ankle) * np.array([0.0, 0.0, 1.0]) * 0.45 + np.array([0.0, -0.01, 0.0])
    spine = 0.31 * H
    chest = pelvis + np.array([0.0, spine * 0.62, lean * spine * 0.6])
    neck = pelvis + np.array([-sway * 0.2, spine, lean * spine])
    j["chest"], j["neck"] = chest, neck
    head_r = 0.062 * H
    j["head"] = neck + np.array([0.0, 0.055 * H + head_r, 0.012 * H])
    j["head_r"] = np.array([head_r, 0.0, 0.0])
    for side, sx in (("l", 1.0), ("r", -1.0)):
        shoulder = neck + np.array([sx * sh_w * math.cos(-twist), -0.03 * H, -sx * sh_w * math.sin(-twist)])
        if clip == "walk":
            # Arms swing against the leg of the same side.
            _, fz = _foot_walk(person, (phase + (0.0 if side == "l" else 0.5)) % 1.0)[0]
            swing = -0.55 * fz / max(person.stance_length(), 1e-6)
            elbow = shoulder + upper * np.array([sx * 0.1, -math.cos(swing), math.sin(swing)])
            bend = 0.25 + 0.25 * max(-swing, 0.0) + 0.35 * max(swing, 0.0)
            wrist = elbow + fore * np.array([sx * 0.05, -math.cos(swing + bend), math.sin(swing + bend)])
        else:
            breathe = 0.02 * math.sin(2 * math.pi * phase)
            kind = person.idle_pose
            if kind == "crossed":
                elbow = shoulder + upper * np.array([sx * 0.05, -0.95, 0.3])
                wrist = chest + np.array([-sx * 0.07 * H, 0.02 * H + breathe * H * 0.2, 0.11 * H])
            elif kind == "pockets":
                elbow = shoulder + upper * np.array([sx * 0.32, -0.93, -0.18])
                wrist = pelvis + np.array([sx * (hip_w + 0.02 * H), 0.0, 0.035 * H])
            elif kind == "phone" and side == "r":
                elbow = shoulder + upper * np.array([-0.05, -0.98, 0.12])
                wrist = chest + np.array([-0.02 * H, 0.02 * H, 0.16 * H])
            else:
                elbow = shoulder + upper * np.array([sx * 0.12, -0.99, 0.04 + breathe])
                wrist = elbow + fore * np.array([sx * 0.05, -0.98, 0.12 + breathe])
        j[f"shoulder_{side}"], j[f"elbow_{side}"], j[f"wrist_{side}"] = shoulder, elbow, wrist
    return j, planted


#: Views rendered per clip: the angle (degrees) from the person's facing to the camera,
#: towards the person's left. Negative angles are the mirror images of these.
VIEWS = (0, 45, 90, 135, 180)
