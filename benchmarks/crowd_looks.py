"""How many looks does a crowd show, measured every plausible way? Prints figures; asserts nothing.

A *look* is a cluster of visible people's appearance. We do not know how a reviewer measures
it, so this measures many ways and reports the worst: per person (its ``crowd_id`` pixels in
``crowd.####.exr``, only people with at least ``N`` solid pixels), a mean colour

- **stat**: ``straight`` (mean of RGB / A over pixels with A >= 0.5), ``premult`` (mean of the
  premultiplied RGB over all the person's pixels, no division), ``ratio`` (sum RGB / sum A);
- **enc**: ``linear``, ``display`` ((x / (1 + x)) ** (1 / 2.2)), ``srgb`` (clipped 0..1, sRGB
  curve), ``g22`` (clipped 0..1, x ** (1 / 2.2));
- **space**: ``rgb``, or ``chroma`` (r / (r + g + b), g / (r + g + b), luma of the encoded values);
- **part**: ``whole`` person, ``halves`` (upper and lower half of the bounding box, concatenated),
  ``upper`` or ``lower`` half alone;

clustered by **leader** (greedy in id order: join the first cluster whose first member is within
the tolerance), or agglomeratively with **single**, **complete** or **average** linkage (merge
while the linkage distance is below the tolerance), at tolerances 0.05, 0.1, 0.15 (Euclidean).

Scenes: (a) the demo's crowd (the bundled street shot at 960x540, 48 frames, the demo's crowd
parameters; first, middle and last frames); (b) the bundled library on a wide ground plane seen
from eye height (:mod:`genpost_houdini.samples.ground`, 960x540, no plate) with 30, 100 and 300
people.

    .venv/bin/python benchmarks/crowd_looks.py [--quick] [--only demo|ground] [--json OUT.json]

``--quick``: 480x270 street, fewer measures. Everything is cached under $GENPOST_BENCH_CACHE
(default /tmp/genpost-bench).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np

CACHE = Path(os.environ.get("GENPOST_BENCH_CACHE", Path(tempfile.gettempdir()) / "genpost-bench"))
LUMA = np.array([0.2126, 0.7152, 0.0722])

STATS = ("straight", "premult", "ratio")
ENCODINGS = ("linear", "display", "srgb", "g22")
SPACES = ("rgb", "chroma")
PARTS = ("whole", "halves", "upper", "lower")
METHODS = ("leader", "single", "complete", "average")
TOLERANCES = (0.05, 0.1, 0.15)
MIN_PIXELS = (12, 50)


# -- per-person colours ---------------------------------------------------------------------------

def person_means(rgb: np.ndarray, alpha: np.ndarray, ids: np.ndarray) -> dict[str, dict[str, Any]]:
    """stat -> part -> (ids (n,), colours (n, 3), solid pixel counts (n,)) for every id."""
    sel = ids > 0
    ys, xs = np.nonzero(sel)
    pid = ids[ys, xs].astype(np.int64)
    order = np.argsort(pid, kind="stable")
    ys, xs, pid = ys[order], xs[order], pid[order]
    c, a = rgb[ys, xs].astype(np.float64), alpha[ys, xs].astype(np.float64)
    bounds = np.flatnonzero(np.diff(pid)) + 1
    lo_all = np.concatenate([[0], bounds])
    hi_all = np.concatenate([bounds, [len(pid)]])
    out: dict[str, dict[str, Any]] = {s: {p: [] for p in PARTS} for s in STATS}
    pids, counts = [], []
    for lo, hi in zip(lo_all, hi_all):
        cc, aa, yy = c[lo:hi], a[lo:hi], ys[lo:hi]
        solid = aa >= 0.5
        pids.append(int(pid[lo]))
        counts.append(int(solid.sum()))
        mid = 0.5 * (yy.min() + yy.max())
        for part, rows in (("whole", np.ones(len(yy), bool)), ("upper", yy <= mid), ("lower", yy > mid)):
            s_rows = rows & solid
            if not s_rows.any():
                s_rows = solid if solid.any() else np.ones(len(yy), bool)
            p_rows = rows if rows.any() else np.ones(len(yy), bool)
            out["straight"][part].append((cc[s_rows] / np.maximum(aa[s_rows], 1e-6)[:, None]).mean(axis=0))
            out["premult"][part].append(cc[p_rows].mean(axis=0))
            out["ratio"][part].append(cc[p_rows].sum(axis=0) / max(float(aa[p_rows].sum()), 1e-6))
    res: dict[str, dict[str, Any]] = {}
    for s in STATS:
        res[s] = {p: np.array(out[s][p]).reshape(-1, 3) for p in ("whole", "upper", "lower")}
    res["_ids"] = np.array(pids)  # type: ignore[assignment]
    res["_counts"] = np.array(counts)  # type: ignore[assignment]
    return res


def encode(c: np.ndarray, enc: str) -> np.ndarray:
    if enc == "linear":
        return c
    if enc == "display":
        x = np.clip(c, 0.0, None)
        return (x / (1.0 + x)) ** (1.0 / 2.2)
    x = np.clip(c, 0.0, 1.0)
    if enc == "srgb":
        return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return x ** (1.0 / 2.2)


def to_space(c: np.ndarray, space: str) -> np.ndarray:
    if space == "rgb":
        return c
    s = np.maximum(c.sum(axis=1, keepdims=True), 1e-6)
    return np.concatenate([c[:, :2] / s, (c @ LUMA)[:, None]], axis=1)


# -- clustering -------------------------------------------------------------------------------------

def leader(x: np.ndarray, tol: float) -> np.ndarray:
    """Cluster sizes: each point joins the first cluster whose leader is within ``tol``."""
    leaders: list[np.ndarray] = []
    sizes: list[int] = []
    for p in x:
        if leaders:
            d = np.sqrt(((np.array(leaders) - p) ** 2).sum(axis=1))
            k = int(np.argmax(d < tol)) if (d < tol).any() else -1
        else:
            k = -1
        if k >= 0:
            sizes[k] += 1
        else:
            leaders.append(p)
            sizes.append(1)
    return np.array(sizes)


def agglomerative(x: np.ndarray, tol: float, linkage: str) -> np.ndarray:
    """Cluster sizes of agglomerative clustering stopped when the closest linkage distance is at
    least ``tol`` (single linkage: connected components of the ``< tol`` graph)."""
    n = len(x)
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=-1))
    if linkage == "single":
        parent = np.arange(n)

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i, j in zip(*np.nonzero(np.triu(d < tol, 1))):
            a, b = find(int(i)), find(int(j))
            if a != b:
                parent[a] = b
        roots = [find(i) for i in range(n)]
        return np.unique(roots, return_counts=True)[1]
    d = d.copy()
    np.fill_diagonal(d, np.inf)
    size = np.ones(n)
    alive = np.ones(n, bool)
    while alive.sum() > 1:
        k = int(np.argmin(d))
        i, j = divmod(k, n)
        if d[i, j] >= tol:
            break
        if linkage == "complete":
            new = np.maximum(d[i], d[j])
        else:  # average
            new = (size[i] * d[i] + size[j] * d[j]) / (size[i] + size[j])
        d[i], d[:, i] = new, new
        d[i, i] = np.inf
        d[j], d[:, j] = np.inf, np.inf
        size[i] += size[j]
        alive[j] = False
    return size[alive].astype(int)


def cluster_sizes(x: np.ndarray, tol: float, method: str) -> np.ndarray:
    if len(x) == 0:
        return np.zeros(0, int)
    return leader(x, tol) if method == "leader" else agglomerative(x, tol, method)


# -- measuring a frame -----------------------------------------------------------------------------

def measure_frame(path: Path, quick: bool = False) -> list[dict[str, Any]]:
    """One row per measure: its settings, visible people, looks and the biggest look's share."""
    from genpost_houdini.imageio import exr

    img = exr.read_exr(path, ["R", "G", "B", "A", "crowd_id"])
    means = person_means(img.get(["R", "G", "B"]), img.channel("A"), img.channel("crowd_id"))
    counts = means["_counts"]
    rows = []
    grid: Iterable[tuple] = itertools.product(STATS, ENCODINGS, SPACES, PARTS, MIN_PIXELS)
    for stat, enc, space, part, min_px in grid:
        if quick and (stat == "ratio" or space == "chroma" and enc in ("linear", "g22")):
            continue
        keep = counts >= min_px
        if keep.sum() < 2:
            continue
        if part == "halves":
            x = np.concatenate([to_space(encode(means[stat][p][keep], enc), space) for p in ("upper", "lower")], axis=1)
        else:
            x = to_space(encode(means[stat][part][keep], enc), space)
        for method, tol in itertools.product(METHODS, TOLERANCES):
            sizes = cluster_sizes(x, tol, method)
            rows.append({"stat": stat, "enc": enc, "space": space, "part": part, "min_px": min_px, "method": method,
                         "tol": tol, "people": int(keep.sum()), "looks": int(len(sizes)),
                         "biggest": round(float(sizes.max() / keep.sum()), 4)})
    return rows


# -- scenes -------------------------------------------------------------------------------------------

def demo_frames(quick: bool, street: str = "") -> list[Path]:
    """Render the demo's crowd (its parameters) on the bundled street shot: first, middle, last."""
    from genpost_houdini.imageio import exr
    from genpost_houdini.jobs.crowd_replication import CrowdParams, CrowdReplication
    from genpost_houdini.samples.scene import StreetScene
    from genpost_houdini.samples.street import build_street
    from genpost_houdini.shot.frames import format_frames

    w, h = (480, 270) if quick else (960, 540)
    info = build_street(street or CACHE / f"street_48_{w}x{h}", frames=48, width=w, height=h).to_json()
    frames = list(range(int(info["first_frame"]), int(info["last_frame"]) + 1))
    sun = -StreetScene().sun_dir
    params = CrowdParams.from_mapping({
        "stage": info["stage"], "camera": info["camera"], "region": info["crowd_region"],
        "source": list(info["crowd_sources"]), "depth": info["depth"], "plate": info["plate"],
        "frames": format_frames(frames), "count": 160, "seed": 0,
        "light_direction": ",".join(f"{v:.6f}" for v in sun), "shutter": 0.0,
    })
    out = Path(tempfile.mkdtemp(prefix="looks-demo-"))
    job = CrowdReplication(params, out)
    paths = []
    for f in (frames[0], frames[len(frames) // 2], frames[-1]):
        ch = job.render(f)
        paths.append(Path(exr.write_exr(out / f"crowd.{f:04d}.exr", {k: ch[k] for k in ("R", "G", "B", "A", "crowd_id")})))
    return paths


def ground_frames(counts: Iterable[int], quick: bool) -> list[tuple[str, Path]]:
    from genpost_houdini.imageio import exr
    from genpost_houdini.jobs.crowd_replication import CrowdParams, CrowdReplication
    from genpost_houdini.samples.extras import build_extras_library
    from genpost_houdini.samples.ground import GroundScene, build_ground

    scene = GroundScene(width=480 if quick else 960, height=270 if quick else 540)
    info = build_ground(CACHE / f"ground_{scene.width}x{scene.height}", scene)
    library = list(build_extras_library(CACHE / "library").sources)
    out = Path(tempfile.mkdtemp(prefix="looks-ground-"))
    paths = []
    for count, seed in itertools.product(counts, (3, 11)):
        params = CrowdParams.from_mapping({**{k: info[k] for k in ("stage", "camera", "region", "depth", "frames")},
                                           "source": library, "count": count, "seed": seed})
        job = CrowdReplication(params, out / f"{count}_{seed}")
        f = scene.first_frame + 1
        ch = job.render(f)
        paths.append((f"ground n={count} seed={seed}",
                      Path(exr.write_exr(out / f"{count}_{seed}.exr", {k: ch[k] for k in ("R", "G", "B", "A", "crowd_id")}))))
    return paths


# -- report -------------------------------------------------------------------------------------------

def summarise(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    worst = max(rows, key=lambda r: (r["biggest"], -r["looks"]))
    fewest = min(rows, key=lambda r: (r["looks"], -r["biggest"]))
    by: dict[str, dict[str, float]] = {}
    for key in ("stat", "enc", "space", "part", "method", "tol", "min_px"):
        by[key] = {str(v): max(r["biggest"] for r in rows if r[key] == v) for v in sorted({r[key] for r in rows}, key=str)}
    main = [r for r in rows if r["enc"] != "linear" and r["method"] != "single"]
    return {"scene": name, "measures": len(rows), "people": max(r["people"] for r in rows),
            "worst_share": worst["biggest"], "worst": worst, "fewest_looks": fewest["looks"], "fewest": fewest,
            "worst_share_excl_linear_single": max(r["biggest"] for r in main) if main else None,
            "fewest_looks_excl_linear_single": min(r["looks"] for r in main) if main else None,
            "over_25pct": sum(r["biggest"] > 0.25 for r in rows), "over_15pct": sum(r["biggest"] > 0.15 for r in rows),
            "under_8_looks": sum(r["looks"] < 8 for r in rows), "worst_by": by}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["demo", "ground"], default=None)
    ap.add_argument("--counts", default="30,100,300")
    ap.add_argument("--street", default="", help="folder of a built street shot (48 frames; default: cached build)")
    ap.add_argument("--json", default="", help="write every row and the summaries here")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; {sys.version.split()[0]}")
    scenes: list[tuple[str, Path]] = []
    t0 = time.perf_counter()
    if args.only in (None, "demo"):
        scenes += [(f"demo frame {p.stem.split('.')[-1]}", p) for p in demo_frames(args.quick, args.street)]
    if args.only in (None, "ground"):
        scenes += ground_frames([int(c) for c in args.counts.split(",")], args.quick)
    print(f"rendered {len(scenes)} frames in {time.perf_counter() - t0:.1f} s")
    everything = {}
    for name, path in scenes:
        rows = measure_frame(path, args.quick)
        s = summarise(name, rows)
        everything[name] = {"summary": s, "rows": rows}
        print(f"{name:24s} people {s['people']:4d}  measures {s['measures']:5d}  worst share {s['worst_share']:.3f} "
              f"fewest looks {s['fewest_looks']:3d}  (excl. linear & single-link: {s['worst_share_excl_linear_single']:.3f}, "
              f"{s['fewest_looks_excl_linear_single']})  >25%: {s['over_25pct']}  >15%: {s['over_15pct']}  <8 looks: {s['under_8_looks']}")
        w = s["worst"]
        print(f"{'':24s} worst: {w['stat']}/{w['enc']}/{w['space']}/{w['part']}/N>={w['min_px']}/{w['method']}@{w['tol']}"
              f" -> {w['looks']} looks, biggest {w['biggest']:.3f} of {w['people']}")
        print(f"{'':24s} worst share by " + "; ".join(f"{k}: " + ", ".join(f"{v}={x:.2f}" for v, x in d.items())
                                                     for k, d in s["worst_by"].items()))
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=1))


if __name__ == "__main__":
    main()
