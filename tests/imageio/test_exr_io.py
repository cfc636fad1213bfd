"""EXR read/write: round trips, kinds and types, metadata, depth/mask rules, display windows,
atomic writes. Real OpenImageIO throughout."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from genpost_houdini.atomic import is_temporary
from genpost_houdini.errors import BadInputError, ColourError, DamagedFileError, InvalidDepthError
from genpost_houdini.imageio.exr import exr_info, read_depth, read_exr, read_mask, read_rgb, write_exr

H, W = 48, 80


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def _raw_spec(path: Path) -> oiio.ImageSpec:
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    inp.close()
    return spec


def test_round_trip_kinds_types_and_ids(tmp_path: Path, rng: np.random.Generator) -> None:
    rgba = rng.random((H, W, 4), dtype=np.float32) * 4
    depth = rng.random((H, W), dtype=np.float32) * 100 + 0.5
    mask = rng.random((H, W), dtype=np.float32)
    ids = rng.integers(0, (1 << 24) - 1, (H, W))
    ids[0, 0] = (1 << 24) - 1
    path = write_exr(
        tmp_path / "aov.exr",
        {"R": rgba[..., 0], "G": rgba[..., 1], "B": rgba[..., 2], "A": rgba[..., 3],
         "Z": depth, "matte": mask, "crowd.id": ids},
        kinds={"crowd.id": "id", "matte": "mask"},
    )
    img = read_exr(path)
    assert img.pixels.dtype == np.float32 and img.pixels.shape == (H, W, 7)
    assert (img.width, img.height) == (W, H)
    assert img.types == {"R": "half", "G": "half", "B": "half", "A": "half",
                         "Z": "float", "matte": "float", "crowd.id": "float"}
    # raw OIIO agrees on what is stored
    spec = _raw_spec(path)
    stored = dict(zip(spec.channelnames, (str(t) for t in spec.channelformats)))
    assert stored["R"] == "half" and stored["Z"] == "float" and stored["crowd.id"] == "float"
    assert spec.get_string_attribute("compression") == "zip"
    # colour in half precision, everything else exact
    np.testing.assert_allclose(img.get(["R", "G", "B", "A"]), rgba, rtol=1e-3, atol=1e-4)
    np.testing.assert_array_equal(img.channel("Z"), depth)
    np.testing.assert_array_equal(img.channel("matte"), mask)
    np.testing.assert_array_equal(img.channel("crowd.id"), ids.astype(np.float32))
    assert int(img.channel("crowd.id")[0, 0]) == (1 << 24) - 1


def test_types_override_float_colour_and_half_data(tmp_path: Path, rng: np.random.Generator) -> None:
    r = rng.random((H, W), dtype=np.float32)
    extra = rng.random((H, W), dtype=np.float32)
    path = write_exr(tmp_path / "t.exr", {"R": r, "G": r, "B": r, "extra": extra},
                     types={"R": "float", "G": "float", "B": "float", "extra": "half"})
    img = read_exr(path)
    assert img.types == {"R": "float", "G": "float", "B": "float", "extra": "half"}
    np.testing.assert_array_equal(img.channel("R"), r)
    assert not np.array_equal(img.channel("extra"), extra)  # really stored as half
    np.testing.assert_allclose(img.channel("extra"), extra, atol=1e-3)


def test_metadata_and_colourspace_round_trip(tmp_path: Path) -> None:
    meta = {
        "job": "set_extension",
        "seed": 42,
        "strength": 0.75,
        "model": {"model_id": "classical", "weights_hash": "abc", "licence": None},
        "frames": [1001, 1002],
        "ok": True,
        "looks_like_number": "42",
        "prompt": "a {wide} street",
    }
    path = write_exr(tmp_path / "m.exr", {"R": np.zeros((4, 4)), "G": np.zeros((4, 4)), "B": np.zeros((4, 4))},
                     metadata=meta, colourspace="lin_ap1")
    img = read_exr(path)
    assert img.metadata == {**meta, "colourspace": "ACEScg"}  # alias recorded by canonical name
    assert img.colourspace == "ACEScg"
    spec = _raw_spec(path)
    assert spec.get_string_attribute("genpost/colourspace") == "ACEScg"
    assert spec.get_string_attribute("oiio:ColorSpace") in ("ACEScg", "lin_ap1_scene")
    assert spec.get_string_attribute("genpost/model").startswith("{")  # dicts are JSON strings
    info = exr_info(path)
    assert info["metadata"] == img.metadata and info["colourspace"] == "ACEScg"


def test_data_only_file_records_raw(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "depth.exr", {"Z": np.ones((4, 4))})
    assert read_exr(path).metadata["colourspace"] == "Raw"


def test_unknown_colourspace_refused(tmp_path: Path) -> None:
    with pytest.raises(ColourError, match="not_a_space"):
        write_exr(tmp_path / "x.exr", {"R": np.zeros((2, 2))}, colourspace="not_a_space")
    assert not list(tmp_path.iterdir())


def test_lossy_compression_never_touches_depth_or_mattes(tmp_path: Path, rng: np.random.Generator) -> None:
    rgb = rng.random((64, 64, 3), dtype=np.float32)
    depth = rng.random((64, 64), dtype=np.float32) * 50 + 1
    matte = rng.random((64, 64), dtype=np.float32)
    y = rng.random((64, 64), dtype=np.float32)
    path = write_exr(tmp_path / "dwa.exr",
                     {"R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2], "Z": depth, "matte": matte, "Y": y},
                     kinds={"Y": "mask"}, compression="dwaa:45")
    info = exr_info(path)
    comps = {c: p["compression"] for p in info["parts"] for c in p["channels"]}
    assert comps["R"] == "dwaa" and comps["Z"] == comps["matte"] == comps["Y"] == "zip"
    img = read_exr(path)
    np.testing.assert_array_equal(img.channel("Z"), depth)
    np.testing.assert_array_equal(img.channel("matte"), matte)
    np.testing.assert_array_equal(img.channel("Y"), y)  # "Y" would be lossy inside a DWA part
    assert np.abs(img.get(["R", "G", "B"]) - rgb).max() < 0.1
    np.testing.assert_array_equal(read_depth(path), depth)


def test_write_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'G'"):
        write_exr(tmp_path / "a.exr", {"R": np.zeros((4, 4)), "G": np.zeros((4, 5))})
    with pytest.raises(ValueError, match="kind"):
        write_exr(tmp_path / "a.exr", {"R": np.zeros((4, 4))}, kinds={"R": "paint"})
    with pytest.raises(ValueError, match="id"):
        write_exr(tmp_path / "a.exr", {"id": np.zeros((4, 4))}, kinds={"id": "id"}, types={"id": "half"})
    with pytest.raises(ValueError, match="compression"):
        write_exr(tmp_path / "a.exr", {"R": np.zeros((4, 4))}, compression="jpeg")
    assert not list(tmp_path.iterdir())


def test_read_depth_no_hit_becomes_inf(tmp_path: Path) -> None:
    z = np.array([[np.nan, np.inf, 1e17, 0.0], [1e30, 2.5, 1e15, -np.inf]], np.float32)
    path = write_exr(tmp_path / "d.exr", {"depth.Z": z})
    d = read_depth(path)
    assert d.dtype == np.float32 and d.shape == (2, 4)
    expect = np.array([[np.inf] * 4, [np.inf, 2.5, 1e15, np.inf]], np.float32)
    np.testing.assert_array_equal(d, expect)


@pytest.mark.parametrize("name", ["Z", "depth", "depth.Z", "Pz", "z"])
def test_read_depth_aliases(tmp_path: Path, name: str) -> None:
    path = write_exr(tmp_path / "d.exr", {"R": np.zeros((2, 2)), name: np.full((2, 2), 3.0)}, kinds={name: "depth"})
    np.testing.assert_array_equal(read_depth(path), np.full((2, 2), 3.0, np.float32))


def test_read_depth_refuses_negative_and_empty(tmp_path: Path) -> None:
    neg = write_exr(tmp_path / "neg.exr", {"Z": np.array([[1.0, -2.0]])})
    with pytest.raises(InvalidDepthError, match="neg.exr.*negative"):
        read_depth(neg)
    empty = write_exr(tmp_path / "empty.exr", {"Z": np.array([[np.nan, 1e17], [0.0, np.inf]])})
    with pytest.raises(InvalidDepthError, match="empty.exr.*no valid pixel"):
        read_depth(empty)
    nodepth = write_exr(tmp_path / "rgb.exr", {"R": np.ones((2, 2))})
    with pytest.raises(BadInputError, match="rgb.exr.*no depth channel"):
        read_depth(nodepth)


def test_read_mask_and_rgb(tmp_path: Path) -> None:
    a = np.array([[-0.5, 0.25], [1.5, np.nan]], np.float32)
    path = write_exr(tmp_path / "rgba.exr", {"R": np.full((2, 2), 0.1), "G": np.full((2, 2), 0.2),
                                             "B": np.full((2, 2), 0.3), "A": a}, types={"A": "float"})
    np.testing.assert_array_equal(read_mask(path), np.array([[0.0, 0.25], [1.0, 0.0]], np.float32))
    rgb = read_rgb(path)
    assert rgb.shape == (2, 2, 3)
    np.testing.assert_allclose(rgb[0, 0], [0.1, 0.2, 0.3], atol=1e-3)
    with pytest.raises(BadInputError, match=r"rgba.exr.*'matte'.*channels: R, G, B, A"):
        read_mask(path, "matte")
    matte_only = write_exr(tmp_path / "m.exr", {"matte": np.full((2, 2), 0.5)})
    np.testing.assert_array_equal(read_mask(matte_only), np.full((2, 2), 0.5, np.float32))


def test_channel_subset_and_missing_file(tmp_path: Path) -> None:
    path = write_exr(tmp_path / "s.exr", {"R": np.full((3, 3), 1.0), "G": np.full((3, 3), 2.0),
                                          "B": np.full((3, 3), 3.0), "Z": np.full((3, 3), 4.0)})
    img = read_exr(path, ["Z", "R"])
    assert img.channels == ["Z", "R"]
    np.testing.assert_array_equal(img.pixels[0, 0], [4.0, 1.0])
    with pytest.raises(BadInputError, match="nope.exr.*no such file"):
        read_exr(tmp_path / "nope.exr")


# ---- display windows (OpenEXR sample images) -------------------------------------------------


def _oiio_display_window_pixels(path: Path) -> np.ndarray:
    """Reference: OpenImageIO's own ImageBuf, pixels fetched over the display window (roi_full)."""
    buf = oiio.ImageBuf(str(path))
    px = buf.get_pixels(oiio.FLOAT, buf.roi_full)
    assert px is not None, buf.geterror()
    return np.asarray(px, np.float32).reshape(buf.roi_full.height, buf.roi_full.width, -1)


def test_display_window_files(shared_data: Path) -> None:
    files = sorted((shared_data / "exr" / "display_window").glob("*.exr"))
    assert len(files) >= 10
    for f in files:
        img = read_exr(f)
        spec = _raw_spec(f)
        assert (img.height, img.width) == (spec.full_height, spec.full_width), f.name
        np.testing.assert_array_equal(img.pixels, _oiio_display_window_pixels(f), err_msg=f.name)


def test_singlepart_data_window_padded(shared_data: Path) -> None:
    f = shared_data / "exr" / "singlepart.0001.exr"
    info = exr_info(f, verify=False)
    assert (info["data_window"]["x"], info["data_window"]["y"]) == (654, 245)
    assert (info["data_window"]["width"], info["data_window"]["height"]) == (911, 876)
    assert (info["display_window"]["width"], info["display_window"]["height"]) == (2048, 1556)
    img = read_exr(f, ["R", "G", "B", "A", "Z"])
    assert img.pixels.shape == (1556, 2048, 5)
    assert img.data_window == (654, 245, 911, 876)
    inside = img.pixels[245 : 245 + 876, 654 : 654 + 911]
    outside = img.pixels.copy()
    outside[245 : 245 + 876, 654 : 654 + 911] = 0
    assert not outside.any()
    raw = oiio.ImageInput.open(str(f))
    assert list(raw.spec().channelnames)[:5] == img.channels
    ref = raw.read_image(0, 0, 0, 5, oiio.FLOAT)
    raw.close()
    np.testing.assert_array_equal(inside, ref)
    depth = read_depth(f)
    assert depth.shape == (1556, 2048)
    assert np.isinf(depth[0, 0]) and np.isfinite(depth[245 + 438, 654 + 455])


# ---- hostile headers and atomic writes -------------------------------------------------------


def test_truncated_and_oversized_headers_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    good = write_exr(tmp_path / "good.exr", {"R": rng.random((64, 64)), "G": rng.random((64, 64)),
                                             "B": rng.random((64, 64))})
    data = good.read_bytes()
    truncated = tmp_path / "truncated.exr"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DamagedFileError, match="truncated.exr"):
        read_exr(truncated)
    # a data window of 2**30 x 64 pixels: must be refused from the header, not allocated
    key = b"dataWindow\x00box2i\x00" + struct.pack("<i", 16)
    at = data.index(key) + len(key)
    huge = tmp_path / "huge.exr"
    huge.write_bytes(data[:at] + struct.pack("<4i", 0, 0, (1 << 30) - 1, 63) + data[at + 16 :])
    with pytest.raises(DamagedFileError, match="huge.exr"):
        read_exr(huge)
    not_exr = tmp_path / "text.exr"
    not_exr.write_text("hello")
    with pytest.raises(DamagedFileError, match="text.exr.*not an OpenEXR"):
        exr_info(not_exr)


def test_write_is_atomic_when_the_disk_fills(tmp_path: Path) -> None:
    """A write that fails half-way (file size limit hit) leaves the old file and no temporary."""
    final = tmp_path / "frame.1001.exr"
    write_exr(final, {"R": np.full((8, 8), 0.5)})
    before = final.read_bytes()
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        import numpy as np
        from genpost_houdini.errors import TransientError
        from genpost_houdini.imageio.exr import write_exr
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        noise = np.random.default_rng(0).random((512, 512), dtype=np.float32)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
        try:
            write_exr({str(final)!r}, {{"R": noise, "G": noise, "B": noise}})
        except TransientError as exc:
            print("REFUSED", exc)
            sys.exit(0)
        print("WROTE")
        sys.exit(1)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "frame.1001.exr" in proc.stdout
    assert final.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["frame.1001.exr"]
    assert not any(is_temporary(p) for p in tmp_path.iterdir())


def test_write_replaces_existing_file(tmp_path: Path) -> None:
    final = tmp_path / "x.exr"
    write_exr(final, {"Z": np.full((4, 4), 1.0)})
    write_exr(final, {"Z": np.full((4, 4), 2.0)})
    np.testing.assert_array_equal(read_depth(final), np.full((4, 4), 2.0, np.float32))
    assert os.listdir(tmp_path) == ["x.exr"]


def test_tiled_read_and_deep_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    tiled = tmp_path / "tiled.exr"
    spec = oiio.ImageSpec(70, 50, 2, oiio.TypeFloat)
    spec.channelnames = ("Z", "mask")
    spec.tile_width = spec.tile_height = 16
    px = rng.random((50, 70, 2), dtype=np.float32)
    out = oiio.ImageOutput.create(str(tiled))
    assert out.open(str(tiled), spec) and out.write_image(px) and out.close()
    assert exr_info(tiled)["tiled"] is True
    np.testing.assert_array_equal(read_exr(tiled).pixels, px)

    deep = tmp_path / "deep.exr"
    spec = oiio.ImageSpec(4, 4, 2, oiio.TypeFloat)
    spec.channelnames = ("A", "Z")
    spec.deep = True
    data = oiio.DeepData()
    data.init(spec)
    for p in range(16):
        data.set_samples(p, 1)
        data.set_deep_value(p, 0, 0, 1.0)
        data.set_deep_value(p, 1, 0, 2.0)
    out = oiio.ImageOutput.create(str(deep))
    assert out.open(str(deep), spec) and out.write_deep_image(data) and out.close()
    with pytest.raises(BadInputError, match="deep.exr: deep EXR"):
        read_exr(deep)


def test_tall_images_written_in_strips_views_and_copies(tmp_path: Path, rng: np.random.Generator) -> None:
    img = rng.random((600, 40, 3), dtype=np.float32)  # several 256-row strips, last one partial
    views = {"R": img[..., 0], "G": img[..., 1], "B": img[..., 2]}
    copies = {k: v.copy() for k, v in views.items()}
    for name, chans in (("views.exr", views), ("copies.exr", copies)):
        path = write_exr(tmp_path / name, chans, types=dict.fromkeys(chans, "float"))
        np.testing.assert_array_equal(read_exr(path).pixels, img, err_msg=name)
    reordered = write_exr(tmp_path / "bgr.exr", {"B": img[..., 2], "G": img[..., 1], "R": img[..., 0]},
                          types={"R": "float", "G": "float", "B": "float"})
    np.testing.assert_array_equal(read_exr(reordered, ["R", "G", "B"]).pixels, img)


def test_one_channel_files_need_no_standard_name(tmp_path):
    import numpy as np

    from genpost_houdini.imageio import exr

    m = np.zeros((8, 8), np.float32)
    m[2:4] = 1
    exr.write_exr(tmp_path / "m.exr", {"extend": m}, kinds={"extend": "mask"})
    assert exr.read_mask(tmp_path / "m.exr").sum() == 16
    exr.write_exr(tmp_path / "d.exr", {"distance": m + 1}, kinds={"distance": "depth"})
    assert np.isfinite(exr.read_depth(tmp_path / "d.exr")).all()
