"""Rendering the crowd for one frame: upright camera-facing cards, occluded by the shot's depth.

Each person is a card standing at their feet position (per frame for walkers), turned to face
the camera about the stage's up axis, ray-cast exactly per pixel (perspective and parallax like
a real object there). The clip and view come from the element (walk or idle, the view angle
between the person's heading and the camera, mirrored for the other side); clothing is
recoloured inside the variation matte; the grade, local exposure, haze, defocus and motion blur
(camera and person motion across the shutter) follow; the set's depth hides what is behind it.

Outputs: R, G, B, A (premultiplied), Z (camera-space depth of the nearest person, inf
elsewhere), crowd_id (0 = none), shadow (0..1: how much to darken the plate under and beside
each person; comp: plate * (1 - shadow), then the crowd over).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from .shadow import ShadowCaster, render_shadows

if TYPE_CHECKING:  # pragma: no cover
    from ..shot.camera import CameraView
    from .look import Look
    from .placement import CrowdLayout, Instance
    from .sources import CrowdSource

#: A card pixel is visible when it is no farther than the set's depth by this fraction (feet
#: stand on the ground: equal depth there must not cut them off).
DEPTH_TOLERANCE = 0.02
#: At most this many shutter samples per person.
MAX_SHUTTER_SAMPLES = 8
_IDENTITY = np.stack([np.eye(3), np.eye(3)]).astype(np.float32)
#: A pixel this opaque (and claimed by someone with alpha >= 0.5) is finished: people behind
#: it are not sampled there.
OPAQUE = 0.9995


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two 3-vectors (np.cross costs ~20x more for one pair)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def card_axes(position: np.ndarray, camera_pos: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(right, normal) of a card at ``position`` facing ``camera_pos`` about ``up``."""
    to_cam = camera_pos - position
    horiz = to_cam - up * float(to_cam @ up)
    norm = math.sqrt(float(horiz @ horiz))
    normal = horiz / norm if norm > 1e-9 else _cross(up, np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0]))
    normal = normal / math.sqrt(float(normal @ normal))
    right = _cross(up, normal)
    return right, normal


def view_angle(heading: np.ndarray, towards: np.ndarray, up: np.ndarray) -> float:
    """Signed angle (degrees) from ``heading`` to the horizontal direction ``towards``, positive
    towards the person's left (counter-clockwise about ``up``)."""
    left = _cross(up, heading)
    return math.degrees(math.atan2(float(towards @ left), float(towards @ heading)))


def bilinear(sprite: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample (h, w[, C]) at float pixel coordinates (pixel centres at integers); edges clamp."""
    h, w = sprite.shape[:2]
    flat = sprite.reshape(h * w, -1)
    x = np.clip(x, 0.0, w - 1.0)
    y = np.clip(y, 0.0, h - 1.0)
    x0 = x.astype(np.int32)  # floor: x >= 0
    y0 = y.astype(np.int32)
    fx = (x - x0).astype(np.float32)[:, None]
    fy = (y - y0).astype(np.float32)[:, None]
    dx = (x0 < w - 1).astype(np.int32)
    i00 = y0 * w + x0
    i10 = i00 + np.where(y0 < h - 1, w, 0)
    top = np.take(flat, i00, axis=0) * (1 - fx) + np.take(flat, i00 + dx, axis=0) * fx
    bottom = np.take(flat, i10, axis=0) * (1 - fx) + np.take(flat, i10 + dx, axis=0) * fx
    out = top * (1 - fy) + bottom * fy
    return out if sprite.ndim == 3 else out[:, 0]


@dataclass
class Card:
    """One person's card this frame: where it stands, which sprite, how big."""

    inst: "Instance"
    position: np.ndarray  # feet, world
    velocity: np.ndarray  # world units per frame
    right: np.ndarray
    normal: np.ndarray
    sprite: np.ndarray  # (h, w, 4) premultiplied (float16 or float32), or (h, w, 6) with the variation matte
    cover: np.ndarray  # (h, w) bool: where sampling the sprite can give anything (see CrowdSource.cover)
    variation: np.ndarray | None  # (h, w, 2) view of sprite[..., 4:6]: all clothing, lower part (None: nothing to recolour)
    matrix: np.ndarray  # colourway (2, 3, 3): upper, lower
    flip: bool
    scale: float  # world units per sprite pixel
    anchor: tuple[float, float]
    fade: float
    depth: float  # camera-space depth of the feet
    gain: np.ndarray  # (3,) instance gain x grade x local exposure

    def extents(self) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) of the card in world units about the feet."""
        h, w = self.sprite.shape[:2]
        ax, ay = self.anchor
        if self.flip:
            ax = w - 1 - ax
        s = self.scale
        return -(ax + 0.5) * s, (w - 0.5 - ax) * s, -(h - 0.5 - ay) * s, (ay + 0.5) * s


def build_cards(layout: "CrowdLayout", sources: Sequence["CrowdSource"], matrices: dict[tuple[int, int], np.ndarray],
                frame: int, view: "CameraView", up: np.ndarray, look: "Look",
                exposure: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> tuple[list[Card], "object"]:
    """The visible cards of ``frame``, sorted far to near, and the frame's state."""
    state = layout.state(frame)
    cam_pos = view.position
    w2c = view.world_to_camera
    cards = []
    sprites: dict[tuple[int, int], tuple[np.ndarray, np.ndarray | None]] = {}
    idx = np.nonzero(state.present & (state.fade > 0))[0]
    depth = state.position[idx] @ w2c[2, :3] + w2c[2, 3] if len(idx) else np.zeros(0)
    local = exposure(state.position[idx], depth) if exposure is not None and len(idx) else np.ones(len(idx))
    for n, k in enumerate(idx):
        if depth[n] <= 1e-3:
            continue
        inst = layout.instances[k]
        src = sources[inst.source]
        el = src.element
        assert el is not None
        pos = state.position[k]
        right, normal = card_axes(pos, cam_pos, up)
        kind = "walk" if inst.walking else "idle"
        angle = view_angle(state.heading[k], normal, up)
        clip, mirror = el.clip_for(kind, angle)
        flip = mirror if clip.view not in (0, 180) else (mirror ^ inst.flip)
        if clip.kind == "loop":
            flip = inst.flip
        i = clip.frame(int(state.counter[k]))
        if (inst.source, i) not in sprites:
            # One (h, w, 6) array (RGBA and variation: one bilinear lookup per pixel), a view of
            # the stored half floats; sampling promotes to float32.
            both = src.frame_pixels(i)
            sprites[(inst.source, i)] = (both, both[..., 4:6] if both.shape[-1] == 6 else None)
        sprite, variation = sprites[(inst.source, i)]
        matrix = matrices[(inst.source, inst.variant)]
        if variation is not None and np.array_equal(matrix, _IDENTITY):
            variation = None  # the element as filmed: nothing to recolour
        cards.append(Card(
            inst=inst, position=pos, velocity=state.velocity[k], right=right, normal=normal,
            sprite=sprite, variation=variation, cover=src.cover(i),
            matrix=matrix, flip=flip, scale=inst.height / el.person_px,
            anchor=el.anchor, fade=float(state.fade[k]), depth=float(depth[n]),
            gain=(np.asarray(inst.gain, np.float32) * look.gain * np.float32(local[n])).astype(np.float32),
        ))
    cards.sort(key=lambda c: -c.depth)
    return cards, state


def _project(points: np.ndarray, K: np.ndarray, w2c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cam = points @ w2c[:3, :3].T + w2c[:3, 3]
    z = cam[..., 2]
    uv = cam @ K.T
    return uv[..., :2] / np.where(np.abs(uv[..., 2:3]) > 1e-12, uv[..., 2:3], 1e-12), z


def render_cards(cards: Sequence[Card], views: Sequence["CameraView"], times: Sequence[float], up: np.ndarray,
                 set_depth: np.ndarray | None, look: "Look") -> dict[str, np.ndarray]:
    """Composite ``cards`` (given far to near) into R, G, B, A, Z, crowd_id.

    ``views``/``times`` are the camera across the shutter (times in frames relative to the
    frame; one view, time 0, for no motion blur). The centre view is ``views[len(views)//2]``.
    Cards are composited front to back (``under``: the same image as far-to-near ``over``), so
    pixels already opaque (alpha >= :data:`OPAQUE`) are never sampled again: in a dense crowd
    most of the people behind are skipped. Only the pixels a person covers are shaded and
    composited (flat indices into the frame); with defocus or several shutter samples the
    card's box is filtered as a whole. ``crowd_id`` and ``Z`` at a pixel are the nearest person
    with alpha >= 0.5 there, else the farthest with any.
    """
    centre = views[len(views) // 2]
    width, height = centre.width, centre.height
    K, w2c = centre.K, centre.world_to_camera
    c2w = np.linalg.inv(w2c)
    rgba = np.zeros((height * width, 4), np.float32)
    acc = rgba[:, 3].reshape(height, width)  # accumulated alpha (a view)
    zbuf = np.full(height * width, np.inf, np.float32)
    ids = np.zeros(height * width, np.float32)
    strong = np.zeros(height * width, bool)  # claimed by someone with alpha >= 0.5
    strong2d = strong.reshape(height, width)
    depth_flat = set_depth.reshape(-1) if set_depth is not None else None
    Kinv = np.linalg.inv(K)
    for card in reversed(cards):
        left, right_e, bottom, top = card.extents()
        p = card.position
        corners = np.array([p + card.right * left + up * bottom, p + card.right * right_e + up * bottom,
                            p + card.right * left + up * top, p + card.right * right_e + up * top])
        # Shutter samples: the card moves with the person; the camera moves along its track.
        samples = []
        for v, t in zip(views, times):
            uv, z = _project(corners + card.velocity * t, v.K, v.world_to_camera)
            if (z <= 1e-3).any():
                continue
            samples.append((v, t, uv))
        if not samples:
            continue
        all_uv = np.concatenate([s[2] for s in samples])
        motion = float(np.max(np.linalg.norm(samples[-1][2] - samples[0][2], axis=1))) if len(samples) > 1 else 0.0
        n_sub = int(min(MAX_SHUTTER_SAMPLES, max(1, math.ceil(motion / 1.5))))
        coc = look.coc_px(card.depth, width)
        sigma = coc / 2.355 if coc > 1.0 else 0.0
        pad = int(math.ceil(3 * sigma)) + 1
        x0 = max(int(np.floor(all_uv[:, 0].min())) - pad, 0)
        x1 = min(int(np.ceil(all_uv[:, 0].max())) + 1 + pad, width)
        y0 = max(int(np.floor(all_uv[:, 1].min())) - pad, 0)
        y1 = min(int(np.ceil(all_uv[:, 1].max())) + 1 + pad, height)
        if x0 >= x1 or y0 >= y1:
            continue
        # Finished pixels: opaque, and their crowd_id and Z already final.
        done = (acc[y0:y1, x0:x1] >= OPAQUE) & strong2d[y0:y1, x0:x1]
        n_done = int(np.count_nonzero(done))
        bw = x1 - x0
        n_pix = (y1 - y0) * bw
        if n_done == n_pix:
            continue  # hidden behind people already drawn
        if n_done * 4 > n_pix:
            # Largely hidden: the card's maths only at the pixels still open (a flat list).
            todo = np.flatnonzero(~done)
            xs = (x0 + todo % bw).astype(np.float32)
            ys = (y0 + todo // bw).astype(np.float32)
            open_px = None
        else:
            todo = None
            xs = np.arange(x0, x1, dtype=np.float32)[None, :]
            ys = np.arange(y0, y1, dtype=np.float32)[:, None]
            open_px = ~done
        # Pick n_sub of the shutter samples evenly (all share the centre frame's sprite).
        chosen = [samples[int(round(q))] for q in np.linspace(0, len(samples) - 1, n_sub)] if n_sub > 1 else [
            min(samples, key=lambda s: abs(s[1]))]
        dense = sigma > 0 or len(chosen) > 1
        patch = np.zeros((n_pix, 6), np.float32) if dense else None  # premultiplied RGBA + variation (all, lower)
        z_centre = None
        idx = vals = None
        h, w = card.sprite.shape[:2]
        ax = (w - 1 - card.anchor[0]) if card.flip else card.anchor[0]
        for v, t, _ in chosen:
            vKinv = Kinv if v is centre else np.linalg.inv(v.K)
            vc2w = c2w if v is centre else np.linalg.inv(v.world_to_camera)
            # The ray through pixel (x, y) is origin + s * M @ (x, y, 1), s = camera-space Z:
            # every quantity below is an affine function of x and y, times s.
            M = vc2w[:3, :3] @ vKinv
            origin = vc2w[:3, 3]
            pt = p + card.velocity * t
            dn, dr, du = (np.asarray(card.normal @ M, np.float32), np.asarray(card.right @ M, np.float32),
                          np.asarray(up @ M, np.float32))
            denom = dn[0] * xs + dn[1] * ys + dn[2]
            ok = np.abs(denom) > 1e-12
            s = np.where(ok, np.float32((pt - origin) @ card.normal) / np.where(ok, denom, np.float32(1.0)), np.float32(-1.0))
            a = np.float32((origin - pt) @ card.right) + s * (dr[0] * xs + dr[1] * ys + dr[2])
            b = np.float32((origin - pt) @ up) + s * (du[0] * xs + du[1] * ys + du[2])
            s, a, b = s.ravel(), a.ravel(), b.ravel()
            if v is centre or z_centre is None:
                if todo is None:
                    z_centre = s
                else:  # pixels not computed are finished: their Z is never used
                    z_centre = np.full(n_pix, -1.0, np.float32)
                    z_centre[todo] = s
            keep = ok.ravel() & (s > 1e-3) & (a >= left) & (a <= right_e) & (b >= bottom) & (b <= top)
            if open_px is not None:
                keep &= open_px.ravel()
            sel = np.flatnonzero(keep)
            if not len(sel):
                continue
            inside = sel if todo is None else todo[sel]  # indices in the card's box
            sx = ax + a[sel] / card.scale
            if card.flip:
                sx = w - 1 - sx
            sy = card.anchor[1] - b[sel] / card.scale
            # Only where the person is (the rest of the card samples exactly zero).
            hit = card.cover[np.clip(np.rint(sy), 0, h - 1).astype(np.intp), np.clip(np.rint(sx), 0, w - 1).astype(np.intp)]
            inside, sx, sy = inside[hit], sx[hit], sy[hit]
            if not len(inside):
                continue
            got = bilinear(card.sprite, sx, sy)
            if patch is not None:
                patch[inside, :got.shape[1]] += got
            else:
                idx, vals = inside, got
        if z_centre is None:
            continue
        if patch is not None:
            patch /= len(chosen)
            cover = np.flatnonzero(patch[:, 3] > 0)
            if not len(cover):
                continue
            sub = patch[cover]
            _shade(sub, card, look)
            patch[cover] = sub
            if sigma > 0:
                patch = _blur(patch.reshape(y1 - y0, bw, 6), sigma).reshape(-1, 6)
            idx = np.flatnonzero(patch[:, 3] > 0)
            vals = patch[idx]
        else:
            if vals is None or idx is None:
                continue
            keep = vals[:, 3] > 0
            idx, vals = idx[keep], vals[keep]
            _shade(vals, card, look)
        if idx is None or vals is None or not len(idx):
            continue
        g = (y0 + idx // bw) * width + (x0 + idx % bw)  # flat pixel indices in the frame
        z = np.where(z_centre[idx] > 0, z_centre[idx], np.inf).astype(np.float32)
        alpha = vals[:, 3] * np.float32(card.fade)
        if depth_flat is not None:
            # Occlusion by the set, after defocus (the set in front stays sharp).
            alpha = np.where(z <= depth_flat[g] * (1.0 + DEPTH_TOLERANCE), alpha, np.float32(0.0))
        live = alpha > 1e-4
        if not live.any():
            continue
        g, z, alpha = g[live], z[live], alpha[live]
        colour = vals[live, :3] * np.float32(card.fade)
        dst = rgba[g]
        through = 1.0 - dst[:, 3:4]  # what the people in front let through
        dst[:, :3] += colour * through
        dst[:, 3:4] += alpha[:, None] * through
        rgba[g] = dst
        free = ~strong[g]
        claim = free & (alpha > 1e-3)  # the nearest strong claim wins, else the farthest weak one
        zbuf[g[claim]] = z[claim]
        ids[g[claim]] = float(card.inst.id)
        strong[g[free & (alpha >= 0.5)]] = True
    img = rgba.reshape(height, width, 4)
    return {"R": img[..., 0], "G": img[..., 1], "B": img[..., 2], "A": img[..., 3],
            "Z": zbuf.reshape(height, width), "crowd_id": ids.reshape(height, width)}


def _shade(px: np.ndarray, card: Card, look: "Look") -> None:
    """Colourway inside the variation matte, gain, haze and lift, in place on (N, 6)
    premultiplied pixels the person covers (alpha > 0)."""
    from .variation import apply_colourway

    rgb, alpha = px[:, :3], px[:, 3]
    if card.variation is not None:
        rgb = apply_colourway(rgb, alpha, px[:, 4:6], card.matrix)
    rgb = rgb * card.gain
    keep = float(look.haze(card.depth))
    if keep < 1.0:
        rgb = rgb * keep + look.haze_colour * (alpha[:, None] * (1.0 - keep))
    rgb = rgb + look.lift * alpha[:, None]
    px[:, :3] = rgb


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of (h, w, C) (zero outside)."""
    r = int(math.ceil(3 * sigma))
    x = np.arange(-r, r + 1, dtype=np.float32)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    k /= k.sum()
    out = img
    for axis in (0, 1):
        pad = [(0, 0)] * img.ndim
        pad[axis] = (r, r)
        padded = np.pad(out, pad)
        acc = np.zeros_like(out)
        n = out.shape[axis]
        for i, wgt in enumerate(k):
            sl = [slice(None)] * img.ndim
            sl[axis] = slice(i, i + n)
            acc += wgt * padded[tuple(sl)]
        out = acc
    return out


def render_frame(layout: "CrowdLayout", sources: Sequence["CrowdSource"], matrices: dict[tuple[int, int], np.ndarray],
                 frame: int, views: Sequence["CameraView"], times: Sequence[float], up: np.ndarray,
                 set_depth: np.ndarray | None, look: "Look",
                 exposure: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """All channels of one frame: the crowd (:func:`render_cards`) and its ``shadow``, the
    shadows on a second thread while the cards composite (both are numpy work that releases
    the GIL; neither depends on the other, so the pixels are the same as one after the other).
    An interrupt (SIGINT/SIGTERM, raised in this thread) cancels the shadows at their next
    chunk."""
    from concurrent.futures import ThreadPoolExecutor

    centre = views[len(views) // 2]
    cards, _ = build_cards(layout, sources, matrices, frame, centre, up, look, exposure)
    casters = [ShadowCaster(c.position, c.inst, c.scale, c.fade) for c in cards]
    cancel = threading.Event()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="genpost-shadow")
    try:
        shadow = pool.submit(render_shadows, casters, sources, layout, frame, centre, up, set_depth, look,
                             cancelled=cancel.is_set)
        channels = render_cards(cards, views, times, up, set_depth, look)
        channels["shadow"] = shadow.result()
    except BaseException:
        cancel.set()
        raise
    finally:
        pool.shutdown(wait=True)
    return channels
