"""EXR read + write overhead of genpost's imageio against raw OpenImageIO.

2048x1152 RGBA half (default ZIP). "raw" is what a careful caller does with OpenImageIO alone:
ImageOutput straight to the final path (write_image, and in 256-row strips; the faster one is
the baseline) / ImageInput.read_image as float. "ours" is
``write_exr`` (validation, metadata, atomic temp + fsync + rename) and ``read_exr`` (header
validation, display-window handling, metadata decoding). Runs alternate and the median of
``--repeats`` is reported. Goal: overhead under 10 %.

    .venv/bin/python benchmarks/exr_io.py [--repeats 7] [--compression zip] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from genpost_houdini.imageio.exr import read_exr, write_exr

W, H = 2048, 1152
NAMES = ("R", "G", "B", "A")


def make_image(seed: int = 0) -> np.ndarray:
    """A plate-like RGBA frame: smooth gradients, texture and grain (compresses like footage)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.stack([x / W, y / H, 0.5 + 0.5 * np.sin(x / 37.0) * np.cos(y / 23.0)], axis=2)
    rgb = base * 1.5 + rng.normal(0, 0.02, (H, W, 3)).astype(np.float32)
    alpha = (np.hypot(x - W / 2, y - H / 2) < 400).astype(np.float32)[..., None]
    return np.ascontiguousarray(np.concatenate([rgb, alpha], axis=2), dtype=np.float32)


def raw_write(path: Path, px: np.ndarray, compression: str) -> None:
    spec = oiio.ImageSpec(W, H, 4, oiio.TypeHalf)
    spec.channelnames = NAMES
    spec.attribute("compression", compression)
    out = oiio.ImageOutput.create(str(path))
    if not out.open(str(path), spec) or not out.write_image(px) or not out.close():
        raise RuntimeError(out.geterror())


def raw_write_strips(path: Path, px: np.ndarray, compression: str, rows: int = 256) -> None:
    """Raw OIIO again, in strips of rows (what write_exr does): the faster raw baseline here."""
    spec = oiio.ImageSpec(W, H, 4, oiio.TypeHalf)
    spec.channelnames = NAMES
    spec.attribute("compression", compression)
    out = oiio.ImageOutput.create(str(path))
    ok = out.open(str(path), spec)
    for y0 in range(0, H, rows):
        ok = ok and out.write_scanlines(y0, min(H, y0 + rows), 0, px[y0 : y0 + rows])
    if not (out.close() and ok):
        raise RuntimeError(out.geterror())


def raw_read(path: Path) -> np.ndarray:
    inp = oiio.ImageInput.open(str(path))
    px = inp.read_image(0, 0, 0, 4, oiio.FLOAT)
    inp.close()
    if px is None:
        raise RuntimeError(oiio.geterror())
    return px


def ours_write(path: Path, px: np.ndarray, compression: str) -> None:
    write_exr(path, {n: px[:, :, i] for i, n in enumerate(NAMES)}, kinds={"A": "colour"},
              compression=compression, metadata={"job": "benchmark", "seed": 1})


def ours_write_separate(path: Path, planes: dict[str, np.ndarray], compression: str) -> None:
    write_exr(path, planes, kinds={"A": "colour"}, compression=compression, metadata={"job": "benchmark", "seed": 1})


def ours_read(path: Path) -> np.ndarray:
    return read_exr(path).pixels


def _time(fn, *args) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--compression", default="zip")
    ap.add_argument("--dir", default=None, help="folder for the files (default: a temporary folder)")
    args = ap.parse_args()
    px = make_image()
    planes = {n: px[:, :, i].copy() for i, n in enumerate(NAMES)}  # separate arrays: forces a copy
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        folder = Path(d)
        raw_path, ours_path = folder / "raw.exr", folder / "ours.exr"
        raw_write(raw_path, px, args.compression)  # warm-up (and files to read)
        ours_write(ours_path, px, args.compression)
        np.testing.assert_array_equal(ours_read(ours_path), raw_read(raw_path))
        keys = ("raw_w", "raw_ws", "ours_w", "ours_w_sep", "raw_r", "ours_r")
        t: dict[str, list[float]] = {k: [] for k in keys}
        for _ in range(args.repeats):
            t["raw_w"].append(_time(raw_write, raw_path, px, args.compression))
            t["raw_ws"].append(_time(raw_write_strips, raw_path, px, args.compression))
            t["ours_w"].append(_time(ours_write, ours_path, px, args.compression))
            t["ours_w_sep"].append(_time(ours_write_separate, ours_path, planes, args.compression))
            # both read the same file, in alternating order (the first read after writes is slower)
            reads = [("raw_r", raw_read), ("ours_r", ours_read)]
            for key, fn in reads if len(t["raw_r"]) % 2 == 0 else reads[::-1]:
                t[key].append(_time(fn, ours_path))
        med = {k: statistics.median(v) for k, v in t.items()}
        best = {k: min(v) for k, v in t.items()}
        size = raw_path.stat().st_size / 1e6

    def pct(a: float, b: float) -> str:
        return f"{100.0 * (a - b) / b:+.1f} %"

    print(f"EXR I/O, {W}x{H} RGBA half, compression={args.compression}, file {size:.1f} MB, "
          f"median of {args.repeats} (OpenImageIO {oiio.__version__})")
    raw_w = min(med["raw_w"], med["raw_ws"])  # compare against the faster raw write
    ow, ows = med["ours_w"], med["ours_w_sep"]
    print(f"  write  raw OIIO write_image  {med['raw_w'] * 1e3:8.1f} ms")
    print(f"  write  raw OIIO in strips    {med['raw_ws'] * 1e3:8.1f} ms")
    print(f"  write  write_exr (views)     {ow * 1e3:8.1f} ms   overhead {pct(ow, raw_w)} vs the faster raw")
    print(f"  write  write_exr (copies)    {ows * 1e3:8.1f} ms   overhead {pct(ows, raw_w)} vs the faster raw")
    print(f"  read   raw OIIO              {med['raw_r'] * 1e3:8.1f} ms")
    print(f"  read   read_exr              {med['ours_r'] * 1e3:8.1f} ms   overhead {pct(med['ours_r'], med['raw_r'])}")
    rw_raw, rw_ours, rw_sep = raw_w + med["raw_r"], ow + med["ours_r"], ows + med["ours_r"]
    print(f"  read+write (views)           {rw_ours * 1e3:8.1f} ms vs {rw_raw * 1e3:.1f} ms raw: "
          f"overhead {pct(rw_ours, rw_raw)} (goal < +10 %)")
    print(f"  read+write (copies)          {rw_sep * 1e3:8.1f} ms vs {rw_raw * 1e3:.1f} ms raw: "
          f"overhead {pct(rw_sep, rw_raw)} (goal < +10 %)")

    raw_best = min(best["raw_w"], best["raw_ws"]) + best["raw_r"]
    ours_best = best["ours_w"] + best["ours_r"]
    print(f"  best of {args.repeats} (less sensitive to a busy machine): read+write {ours_best * 1e3:.1f} ms vs "
          f"{raw_best * 1e3:.1f} ms raw: overhead {pct(ours_best, raw_best)}; read {best['ours_r'] * 1e3:.1f} vs "
          f"{best['raw_r'] * 1e3:.1f} ms; write {best['ours_w'] * 1e3:.1f} vs "
          f"{min(best['raw_w'], best['raw_ws']) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
