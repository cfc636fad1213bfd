"""Staggering standing people for the camera, as an assistant director places extras.

Seen from eye height a crowd hides most of itself: a person farther away shows only a sliver
of head between nearer people's shoulders, and such slivers all read alike (hair and skin). An
AD "cheats" background extras into the gaps. :func:`stagger` does the same with the standers
of a Poisson placement: a person whose head is mostly hidden behind nearer people, seen from
the shot's camera positions, moves to a spare Poisson site nearby (so spacing and density
hold) where their head shows, unless that would hide the head of someone who showed.

Geometry, per camera position (angles about the up axis, so any camera roll or pitch): a
person at horizontal distance ``d`` with height ``h`` covers azimuth +- (half shoulder width) / d
and elevation from their feet to their crown (``atan((y - eye) / d)``, ``eye`` the camera's
height above their feet); their head is sampled at 3 x 3 points. A sample is hidden when it
lies in the box of a nearer person.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

#: Half shoulder width, and the head's sample offsets (metres, for a 1.75 m person).
_HALF_WIDTH = 0.24
_HEAD_X = np.array([-0.075, 0.0, 0.075])
_HEAD_Y = np.array([0.04, 0.12, 0.20])  # below the crown
#: A head at least this visible (fraction of samples, mean over camera positions) shows.
MIN_VISIBLE = 0.6
#: A move must show this much more of the head.
MIN_GAIN = 0.2
#: Beyond this many standers staggering is skipped (a mass of people; cost ~ n^2).
MAX_PEOPLE = 3000


class _Polar:
    """Distance, azimuth and eye height of every person from each camera position."""

    def __init__(self, cameras: Sequence[np.ndarray], up: np.ndarray, basis: np.ndarray, pos: np.ndarray):
        self.cams = [np.asarray(c, np.float64) for c in cameras]
        self.up, self.basis = up, basis
        self.d, self.a, self.e = (np.zeros((len(self.cams), len(pos))) for _ in range(3))
        for k in range(len(pos)):
            self.set(k, pos[k])

    def of(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distance, azimuth, eye height) of world point ``p`` from each camera: (V,) each."""
        rel = p[None, :] - np.stack(self.cams)
        xy = rel @ self.basis.T
        return np.maximum(np.hypot(xy[:, 0], xy[:, 1]), 1e-3), np.arctan2(xy[:, 1], xy[:, 0]), -(rel @ self.up)

    def set(self, k: int, p: np.ndarray) -> None:
        self.d[:, k], self.a[:, k], self.e[:, k] = self.of(p)


def _angle(x: np.ndarray) -> np.ndarray:
    return np.abs((x + math.pi) % (2 * math.pi) - math.pi)


def _behind(polar: _Polar, d: np.ndarray, a: np.ndarray, scale: float) -> np.ndarray:
    """(N,) who is farther than a person at polar (``d``, ``a``) per camera and near enough in
    azimuth that the person could hide their head, from any camera position."""
    out = np.zeros(polar.d.shape[1], bool)
    for v in range(len(polar.cams)):
        out |= (polar.d[v] > d[v]) & (_angle(polar.a[v] - a[v]) < _HALF_WIDTH * scale / d[v] + 0.2 / polar.d[v])
    return out


def _visible(polar: _Polar, heights: np.ndarray, who: int, at: tuple[np.ndarray, np.ndarray, np.ndarray],
             height: float, skip: int = -1, extra: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None) -> float:
    """Fraction of the head samples of a person of ``height`` at polar ``at`` not hidden by
    the others (all but ``who`` and ``skip``; plus ``extra``, a person at another site), mean
    over camera positions."""
    s = height / 1.75
    seen = 0.0
    for v in range(len(polar.cams)):
        d, a, e = at[0][v], at[1][v], at[2][v]
        od, oa, oe, oh = polar.d[v], polar.a[v], polar.e[v], heights
        if extra is not None:
            od = np.append(od, extra[0][v])
            oa = np.append(oa, extra[1][v])
            oe = np.append(oe, extra[2][v])
            oh = np.append(oh, extra[3])
        half = _HALF_WIDTH * (oh / 1.75) / od
        near = (od < d - 0.05) & (_angle(oa - a) < half + 0.1 * s / d)
        if who >= 0:
            near[who] = False
        if skip >= 0:
            near[skip] = False
        if not near.any():
            seen += 1.0
            continue
        od, oa, oe, oh, half = od[near], oa[near], oe[near], oh[near], half[near]
        cols = _angle(oa[None, :] - (a + _HEAD_X[:, None] * s / d)) < half[None, :]  # (3, m)
        el = np.arctan2(height - _HEAD_Y * s - e, d)  # (3,)
        rows = (el[:, None] < np.arctan2(oh - oe, od)[None, :]) & (el[:, None] > np.arctan2(-oe, od)[None, :])
        hidden = (cols[:, None, :] & rows[None, :, :]).any(axis=-1)
        seen += 1.0 - float(hidden.mean())
    return seen / len(polar.cams)


def stagger(positions: np.ndarray, spare: np.ndarray, heights: np.ndarray, cameras: Sequence[np.ndarray],
            up: np.ndarray, basis: np.ndarray, radius: float, spacing: float) -> tuple[np.ndarray, int]:
    """Move hidden standers to spare sites within ``radius`` where their head shows.

    ``positions`` (N, 3) standers' feet, ``heights`` (N,), ``spare`` (M, 3) candidate sites (a
    site is used only while it is at least ``spacing`` from every stander), ``cameras`` world
    positions across the shot, ``basis`` (2, 3) the horizontal axes. Far people are
    considered first; a move must show :data:`MIN_GAIN` more of the head and must not leave
    anyone whose head showed (>= :data:`MIN_VISIBLE`) hidden. Returns the new positions and
    how many moved. Deterministic.
    """
    pos = np.array(positions, np.float64)
    spare = np.array(spare, np.float64)
    n = len(pos)
    if n < 2 or not len(spare) or not len(cameras) or n > MAX_PEOPLE:
        return pos, 0
    heights = np.asarray(heights, np.float64)
    polar = _Polar(cameras, up, basis, pos)
    vis = np.array([_visible(polar, heights, k, (polar.d[:, k], polar.a[:, k], polar.e[:, k]), heights[k])
                    for k in range(n)])
    spare_xy = spare @ basis.T
    pos_xy = pos @ basis.T
    moved = 0
    for i in np.argsort(-polar.d.mean(axis=0), kind="stable"):
        if vis[i] >= MIN_VISIBLE:
            continue
        near = np.flatnonzero(np.sum((spare_xy - pos_xy[i]) ** 2, axis=1) < radius * radius)
        if len(near):
            others = np.delete(pos_xy, i, axis=0)
            gap = np.sqrt(((spare_xy[near, None, :] - others[None, :, :]) ** 2).sum(-1)).min(axis=1)
            near = near[gap >= spacing]
        best, best_vis = -1, vis[i] + MIN_GAIN
        for q in near:
            at = polar.of(spare[q])
            got = _visible(polar, heights, int(i), at, heights[i])
            if got < best_vis:
                continue
            # Whose head could person i at q cover? Farther people in its azimuth window.
            covers = _behind(polar, at[0], at[1], heights[i] / 1.75)
            covers[i] = False
            harmed = any(_visible(polar, heights, int(j), (polar.d[:, j], polar.a[:, j], polar.e[:, j]), heights[j],
                                  skip=int(i), extra=(*at, heights[i])) < MIN_VISIBLE
                         for j in np.flatnonzero(covers & (vis >= MIN_VISIBLE)))
            if not harmed:
                best, best_vis = int(q), got
        if best < 0:
            continue
        old = pos[i].copy()
        old_at = (polar.d[:, i].copy(), polar.a[:, i].copy())
        pos[i], spare[best] = spare[best], old
        spare_xy[best] = old @ basis.T
        pos_xy[i] = pos[i] @ basis.T
        polar.set(i, pos[i])
        vis[i] = best_vis
        moved += 1
        # Visibility changes for those behind the old and the new site.
        touched = _behind(polar, *old_at, heights[i] / 1.75) | _behind(polar, polar.d[:, i], polar.a[:, i], heights[i] / 1.75)
        touched[i] = False
        for j in np.flatnonzero(touched):
            vis[j] = _visible(polar, heights, int(j), (polar.d[:, j], polar.a[:, j], polar.e[:, j]), heights[j])
    return pos, moved
