"""Denoiser runtimes compared: PyTorch eager vs onnxruntime(-CUDA) vs TensorRT.

For each window (480p and 720p, 81 frames, by default) and runtime it measures: the denoiser
step time (one transformer forward; a guided sampling step makes two), end-to-end seconds per
frame of a WanVACE pipeline run (VAE encode/decode included, text encoder excluded: random prompt
embeddings of Wan's 512 tokens), engine build time (ONNX export, TensorRT build) into a fresh
cache, warm load time from that cache, and peak GPU memory. It prints a table (and --json).

Model: ``--model DIR`` loads a real Wan2.1-VACE folder (transformer and VAE; no text encoder);
without it a transformer with the Wan2.1-VACE-1.3B config's layer sizes and a Wan VAE are built
with random weights (same compute, meaningless pixels). ``--tiny`` uses a tiny random model and a
small window: a smoke check that runs on CPU in about a minute. What cannot run here (no GPU, no
tensorrt, no onnxruntime CUDA provider) is skipped with the reason.

    python benchmarks/runtime_gpu.py --tiny
    python benchmarks/runtime_gpu.py --windows 480p,720p --steps 5
    python benchmarks/runtime_gpu.py --model /models/Wan2.1-VACE-1.3B-diffusers --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: Wan2.1-VACE-1.3B transformer config (diffusers layout).
WAN_VACE_1_3B = dict(
    patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
    text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
    qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024,
    vace_layers=list(range(0, 30, 2)), vace_in_channels=96,
)
TINY = dict(
    patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
    text_dim=32, freq_dim=256, ffn_dim=32, num_layers=3, cross_attn_norm=True,
    qk_norm="rms_norm_across_heads", rope_max_seq_len=32, vace_layers=[0, 2], vace_in_channels=96,
)
WINDOWS = {"480p": (81, 480, 832), "720p": (81, 720, 1280), "tiny": (9, 32, 64)}
RUNTIMES = ("torch", "onnxruntime", "tensorrt")


class PeakMemory:
    """Peak device memory in use (all allocators: torch, onnxruntime, TensorRT), sampled every 5 ms."""

    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "PeakMemory":
        if self.cuda:
            import torch

            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        import torch

        while not self._stop.is_set():
            free, total = torch.cuda.mem_get_info()
            self.peak = max(self.peak, total - free)
            time.sleep(0.005)

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def gib(self) -> float | None:
        return self.peak / 2**30 if self.cuda else None


def sync(cuda: bool) -> None:
    if cuda:
        import torch

        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], cuda: bool, repeats: int, warmup: int = 1) -> float:
    """Median seconds of ``fn`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    sync(cuda)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        sync(cuda)
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def build_models(args: argparse.Namespace, device: str, dtype: Any) -> tuple[Any, Any]:
    """(transformer, vae) on ``device``: from --model, tiny, or the 1.3B config with random weights."""
    import torch
    from diffusers import AutoencoderKLWan, WanVACETransformer3DModel

    torch.manual_seed(0)
    if args.model:
        from genpost_houdini.runtime.engines import load_transformer

        transformer = load_transformer(args.model, dtype=str(dtype).replace("torch.", ""), device=device)
        vae = AutoencoderKLWan.from_pretrained(args.model, subfolder="vae", torch_dtype=torch.float32,
                                               use_safetensors=True, local_files_only=True)
    elif args.tiny:
        transformer = WanVACETransformer3DModel(**TINY)
        vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                               temperal_downsample=[False, True, True])
    else:
        with torch.device(device):  # build in place: 1.3B random weights
            transformer = WanVACETransformer3DModel(**WAN_VACE_1_3B)
            vae = AutoencoderKLWan()  # the Wan2.1 VAE's default config
    from genpost_houdini.runtime.onnx_export import cast_model

    if not args.model:
        cast_model(transformer.to(device), dtype)  # as from_pretrained(torch_dtype=...) would
    return transformer.to(device).eval(), vae.to(device=device, dtype=torch.float32).eval()


def denoiser_inputs(config: Any, window: tuple[int, int, int], text_len: int, device: str, dtype: Any) -> dict[str, Any]:
    from genpost_houdini.runtime.onnx_export import example_inputs

    frames, height, width = window
    return example_inputs(config, frames=(frames - 1) // 4 + 1, height=height // 8, width=width // 8,
                          text_len=text_len, dtype=dtype, device=device)


def run_pipeline(transformer: Any, vae: Any, window: tuple[int, int, int], steps: int, text_len: int, device: str) -> float:
    """Seconds per frame of one WanVACE pipeline call (guidance on, so two denoiser calls a step)."""
    import numpy as np
    import PIL.Image
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, WanVACEPipeline

    frames, height, width = window
    pipe = WanVACEPipeline(tokenizer=None, text_encoder=None, vae=vae,
                           scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0), transformer=transformer)
    pipe.set_progress_bar_config(disable=True)
    rng = np.random.default_rng(0)
    video = [PIL.Image.fromarray((rng.random((height, width, 3)) * 255).astype(np.uint8)) for _ in range(frames)]
    mask = [PIL.Image.new("L", (width, height), 255) for _ in range(frames)]
    g = torch.Generator().manual_seed(0)
    text_dim = int(transformer.config["text_dim"])
    pe = torch.randn(1, text_len, text_dim, generator=g).to(device)
    npe = torch.randn(1, text_len, text_dim, generator=g).to(device)
    sync(device.startswith("cuda"))
    started = time.perf_counter()
    with torch.no_grad():
        pipe(video=video, mask=mask, prompt_embeds=pe, negative_prompt_embeds=npe, height=height, width=width,
             num_frames=frames, num_inference_steps=steps, guidance_scale=5.0,
             generator=torch.Generator(device="cpu").manual_seed(0), output_type="np")
    sync(device.startswith("cuda"))
    return (time.perf_counter() - started) / frames


def bench_runtime(runtime: str, transformer: Any, vae: Any, window_name: str, args: argparse.Namespace,
                  device: str, cache_root: Path) -> dict[str, Any]:
    """One table row."""
    import torch

    from genpost_houdini.runtime.denoiser import _standin_class
    from genpost_houdini.runtime.engine_cache import EngineCache
    from genpost_houdini.runtime.onnx_export import INPUT_NAMES, ONNX_FILE, ensure_onnx
    from genpost_houdini.runtime.ort_backend import CPU, CUDA, OrtRunner, make_session, ort_available, ort_cuda_available
    from genpost_houdini.runtime.profile import ShapeProfile
    from genpost_houdini.runtime.tensorrt_backend import PLAN_FILE, TrtRunner, ensure_engine, tensorrt_available

    cuda = device.startswith("cuda")
    window = WINDOWS[window_name]
    text_len = args.text_len or (8 if args.tiny else 512)
    dtype = transformer.dtype  # diffusers: the compute dtype, not the fp32-kept modules' one
    row: dict[str, Any] = {"window": window_name, "runtime": runtime, "status": "ok"}
    cache = EngineCache(cache_root)
    inputs = denoiser_inputs(transformer.config, window, text_len, device, dtype)

    if runtime == "torch":
        label = "torch-eager"
        runner: Any = lambda feed: transformer(**{k: feed[k] for k in INPUT_NAMES}, return_dict=False)[0]  # noqa: E731
        denoiser = transformer
        row["build_s"] = row["warm_load_s"] = None
    elif runtime == "onnxruntime":
        ok, why = ort_cuda_available() if cuda else ort_available()
        if not ok:
            return {**row, "status": f"skipped: {why}"}
        label = "onnxruntime-cuda" if cuda else "onnxruntime-cpu"
        precision = "float16" if cuda else "float32"
        started = time.perf_counter()
        entry = ensure_onnx(transformer, cache=cache, precision=precision, validate=not cuda)
        row["build_s"] = time.perf_counter() - started
        started = time.perf_counter()
        session = make_session(entry.file(ONNX_FILE), providers=(CUDA, CPU) if cuda else (CPU,))
        runner = OrtRunner(session, cuda=cuda)
        row["warm_load_s"] = time.perf_counter() - started
        denoiser = _standin_class()(transformer.config, dtype, device, runner, label)
    else:
        ok, why = tensorrt_available()
        if not ok:
            return {**row, "status": f"skipped: {why}"}
        label = "tensorrt"
        precision = args.trt_precision or str(dtype).replace("torch.", "")
        started = time.perf_counter()
        onnx_entry = ensure_onnx(transformer, cache=cache, precision=str(dtype).replace("torch.", ""), validate=False)
        profile = ShapeProfile.static(*window, text_len=text_len)
        engine = ensure_engine(onnx_entry, profile, precision=precision, cache=cache)
        row["build_s"] = time.perf_counter() - started
        started = time.perf_counter()
        runner = TrtRunner(engine.file(PLAN_FILE), profile)
        row["warm_load_s"] = time.perf_counter() - started
        denoiser = _standin_class()(transformer.config, dtype, device, runner, label)

    row["runtime"] = label
    with PeakMemory(cuda) as mem, torch.no_grad():
        row["step_s"] = timed(lambda: runner(inputs), cuda, args.repeats)
        if not args.no_e2e:
            row["e2e_s_per_frame"] = run_pipeline(denoiser, vae, window, args.steps, text_len, device)
    row["peak_gpu_gib"] = mem.gib
    runner = denoiser = None  # drop the session/engine before the next runtime
    import gc

    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    def fmt(v: Any, spec: str) -> str:
        return format("-", ">" + spec.split(".")[0]) if v is None else format(v, spec)

    print(f"{'window':7s} {'runtime':18s} {'step ms':>9s} {'x torch':>8s} {'e2e s/frame':>12s} {'build s':>8s} "
          f"{'load s':>7s} {'peak GiB':>9s}  status")
    base = {r["window"]: r.get("step_s") for r in rows if r["runtime"] == "torch-eager"}
    for r in rows:
        step = r.get("step_s")
        speedup = base.get(r["window"]) / step if step and base.get(r["window"]) else None
        print(f"{r['window']:7s} {r['runtime']:18s} {fmt(step and step * 1000, '9.1f')} {fmt(speedup, '8.2f')} "
              f"{fmt(r.get('e2e_s_per_frame'), '12.3f')} {fmt(r.get('build_s'), '8.1f')} {fmt(r.get('warm_load_s'), '7.2f')} "
              f"{fmt(r.get('peak_gpu_gib'), '9.2f')}  {r['status']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a local Wan2.1-VACE diffusers folder (transformer + vae)")
    parser.add_argument("--tiny", action="store_true", help="tiny random model and window (CPU smoke check)")
    parser.add_argument("--windows", default=None, help="comma list of 480p, 720p, tiny (default 480p,720p; tiny with --tiny)")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES))
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    parser.add_argument("--steps", type=int, default=None, help="sampling steps of the end-to-end run (default 4; 2 with --tiny)")
    parser.add_argument("--repeats", type=int, default=5, help="timed denoiser calls (median)")
    parser.add_argument("--text-len", type=int, default=None)
    parser.add_argument("--trt-precision", choices=["float16", "bfloat16", "float32"], default=None)
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end pipeline runs")
    parser.add_argument("--cache", default=None, help="engine cache (default: a fresh temporary one, so builds are timed)")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    logging.getLogger("genpost").setLevel(logging.INFO)

    import torch

    from genpost_houdini.runtime.device import choose_device

    choice = choose_device(args.device)
    device = choice.device
    dtype = getattr(torch, choice.dtype)
    if not choice.is_cuda and not args.tiny:
        print("note: no GPU: the 1.3B-sized model on CPU takes very long; use --tiny for a smoke check", file=sys.stderr)
    steps = args.steps or (2 if args.tiny else 4)
    args.steps = steps
    windows = (args.windows or ("tiny" if args.tiny else "480p,720p")).split(",")
    print(f"device: {device} {choice.dtype} ({choice.reason}); torch {torch.__version__}; windows {windows}; "
          f"{'tiny' if args.tiny else args.model or 'Wan2.1-VACE-1.3B config, random weights'}")

    started = time.perf_counter()
    transformer, vae = build_models(args, device, dtype)
    print(f"model ready in {time.perf_counter() - started:.1f} s")
    rows = []
    tmp = None if args.cache else tempfile.TemporaryDirectory(prefix="genpost-bench-cache-")
    cache_root = Path(args.cache or tmp.name)  # type: ignore[union-attr]
    try:
        for window in windows:
            for runtime in args.runtimes.split(","):
                try:
                    row = bench_runtime(runtime, transformer, vae, window, args, device, cache_root)
                except Exception as exc:  # one failing runtime must not hide the others' figures
                    traceback.print_exc()
                    row = {"window": window, "runtime": runtime, "status": f"failed: {type(exc).__name__}: {exc}"[:200]}
                    if device.startswith("cuda"):
                        with contextlib.suppress(Exception):
                            torch.cuda.empty_cache()
                rows.append(row)
                print(json.dumps(row, default=str), flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    print()
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return 0 if all(not r["status"].startswith("failed") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
