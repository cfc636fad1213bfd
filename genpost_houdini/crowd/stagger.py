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
#: Beyond this many standers staggering is skipped (a mass of people).
MAX_PEOPLE = 3000
#: At most this many nearby sites are tried per person, and after this many people in a row
#: found no better site the crowd is too dense to stagger: the rest stay (bounded work).
SITES_PER_PERSON = 48
GIVE_UP_AFTER = 60


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


def _visibility(polar: _Polar, heights: np.ndarray, at: tuple[np.ndarray, np.ndarray, np.ndarray],
                height: np.ndarray, exclude: np.ndarray) -> np.ndarray:
    """(K,) fraction of the head samples of K subjects (polar ``at``: (V, K) each, ``height``
    (K,)) not hidden by the people of ``polar`` (all N but where ``exclude`` (K, N) is True),
    mean over camera positions."""
    d_all, a_all, e_all = at
    k = d_all.shape[1]
    seen = np.zeros(k)
    s = height / 1.75
    oh = heights[None, :]
    for v in range(len(polar.cams)):
        d, a, e = d_all[v][:, None], a_all[v][:, None], e_all[v][:, None]  # (K, 1)
        od, oa = polar.d[v][None, :], polar.a[v][None, :]  # (1, N)
        half = _HALF_WIDTH * (oh / 1.75) / od
        near = (od < d - 0.05) & (_angle(oa - a) < half + 0.1 * s[:, None] / d) & ~exclude  # (K, N)
        hidden = np.zeros(k)
        rows_k, cols_n = np.nonzero(near)
        if len(rows_k):
            sk = s[rows_k]
            dk, ak, ek, hk = d[rows_k, 0], a[rows_k, 0], e[rows_k, 0], height[rows_k]
            h_n, od_n, oa_n, oe_n = heights[cols_n], polar.d[v][cols_n], polar.a[v][cols_n], polar.e[v][cols_n]
            half_n = _HALF_WIDTH * (h_n / 1.75) / od_n
            col = _angle(oa_n[:, None] - (ak[:, None] + _HEAD_X[None, :] * (sk / dk)[:, None])) < half_n[:, None]  # (P, 3)
            el = np.arctan2(hk[:, None] - _HEAD_Y[None, :] * sk[:, None] - ek[:, None], dk[:, None])  # (P, 3)
            row = (el < np.arctan2(h_n - oe_n, od_n)[:, None]) & (el > np.arctan2(-oe_n, od_n)[:, None])
            pair = (col[:, :, None] & row[:, None, :]).reshape(len(rows_k), -1)  # (P, 9): x by y samples
            covered = np.zeros((k, pair.shape[1]), bool)
            np.logical_or.at(covered, rows_k, pair)
            hidden = covered.mean(axis=1)
        seen += 1.0 - hidden
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
    everyone = np.arange(n)

    def vis_of(idx: np.ndarray) -> np.ndarray:
        out = np.empty(len(idx))
        for lo in range(0, len(idx), 256):
            k = idx[lo:lo + 256]
            out[lo:lo + 256] = _visibility(polar, heights, (polar.d[:, k], polar.a[:, k], polar.e[:, k]), heights[k],
                                           k[:, None] == everyone[None, :])
        return out

    vis = vis_of(everyone)
    spare_xy = spare @ basis.T
    pos_xy = pos @ basis.T
    moved, failed = 0, 0
    for i in np.argsort(-polar.d.mean(axis=0), kind="stable"):
        if vis[i] >= MIN_VISIBLE:
            continue
        if failed >= GIVE_UP_AFTER:
            break
        d2 = np.sum((spare_xy - pos_xy[i]) ** 2, axis=1)
        near = np.flatnonzero(d2 < radius * radius)
        near = near[np.argsort(d2[near], kind="stable")]
        if len(near):
            others = np.delete(pos_xy, i, axis=0)
            gap = np.sqrt(((spare_xy[near, None, :] - others[None, :, :]) ** 2).sum(-1)).min(axis=1)
            near = near[gap >= spacing][:SITES_PER_PERSON]
        best = -1
        if len(near):
            per_site = [polar.of(spare[q]) for q in near]
            at = (np.stack([p[0] for p in per_site], axis=1), np.stack([p[1] for p in per_site], axis=1),
                  np.stack([p[2] for p in per_site], axis=1))
            got = _visibility(polar, heights, at, np.full(len(near), heights[i]), everyone[None, :] == i)
            old = (polar.d[:, i].copy(), polar.a[:, i].copy(), polar.e[:, i].copy())
            for c in np.argsort(-got, kind="stable"):
                if got[c] < vis[i] + MIN_GAIN:
                    break
                # Would person i there hide the head of someone whose head shows?
                polar.set(i, spare[near[c]])
                covers = _behind(polar, polar.d[:, i], polar.a[:, i], heights[i] / 1.75) & (vis >= MIN_VISIBLE)
                covers[i] = False
                harmed = bool(covers.any()) and bool((vis_of(np.flatnonzero(covers)) < MIN_VISIBLE).any())
                polar.d[:, i], polar.a[:, i], polar.e[:, i] = old
                if not harmed:
                    best = int(near[c])
                    break
        if best < 0:
            failed += 1
            continue
        failed = 0
        old_d, old_a = polar.d[:, i].copy(), polar.a[:, i].copy()
        pos[i], spare[best] = spare[best], pos[i].copy()
        spare_xy[best] = pos_xy[i]
        pos_xy[i] = pos[i] @ basis.T
        polar.set(i, pos[i])
        moved += 1
        # Visibility changes for i and for those behind its old and its new site.
        scale = heights[i] / 1.75
        touched = _behind(polar, old_d, old_a, scale) | _behind(polar, polar.d[:, i], polar.a[:, i], scale)
        touched[i] = True
        idx = np.flatnonzero(touched)
        vis[idx] = vis_of(idx)
    return pos, moved
