"""Tiny, randomly initialised pipelines for tests and CI (no downloads).

Built from small configs the way diffusers' own fast tests build them, seeded, in eval mode,
with tokenizers made from an in-memory vocabulary. :func:`make_tiny` saves one as a folder
(safetensors + ``genpost.json`` + a model card) that ``from_pretrained(DIR)`` loads offline.
The weights are random: the pixels mean nothing, the code path is the real one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..errors import UsageError

TINY_LICENCE = "Apache-2.0 (random weights, test only)"

#: Words the tiny tokenizers know whole; anything else is spelled out letter by letter.
_WORDS = (
    "a", "an", "the", "of", "and", "at", "in", "on", "with", "city", "street", "sky", "wall",
    "building", "buildings", "tree", "trees", "night", "day", "crowd", "people", "person", "set",
    "extension", "wide", "shot", "photo", "blurry", "low", "quality", "bad", "distorted", "warehouse",
    "office", "background", "cinematic",
)  # fmt: skip
_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"


def _seed_all(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _t5_tokenizer() -> Any:
    from transformers import T5Tokenizer

    vocab: list[tuple[str, float]] = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [("\u2581" + w, -1.0 - i * 0.01) for i, w in enumerate(_WORDS)]
    vocab += [("\u2581", -5.0)]
    vocab += [(c, -10.0 - i * 0.01) for i, c in enumerate(_LETTERS)]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=512)


def _clip_tokenizer() -> Any:
    from transformers import CLIPTokenizer

    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in _LETTERS:
        vocab.setdefault(c, len(vocab))
    for c in _LETTERS:
        vocab.setdefault(c + "</w>", len(vocab))
    merges: list[tuple[str, str]] = []
    for w in _WORDS:  # whole-word merges, built letter by letter
        if len(w) < 2:
            continue
        current = w[0]
        for j, ch in enumerate(w[1:], start=1):
            piece = ch + ("</w>" if j == len(w) - 1 else "")
            merges.append((current, piece))
            current = current + piece
            vocab.setdefault(current, len(vocab))
    unique = list(dict.fromkeys(merges))
    return CLIPTokenizer(vocab=vocab, merges=unique, model_max_length=77)


def build_tiny_wan_vace(seed: int = 0) -> Any:
    """A tiny WanVACEPipeline (UMT5 text encoder, Wan VAE, VACE transformer), eval mode, fp32."""
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanVACEPipeline, WanVACETransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = _t5_tokenizer()
    _seed_all(seed)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(tokenizer),
            d_model=32,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    ).eval()
    _seed_all(seed)
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    ).eval()
    _seed_all(seed)
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=3,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=1024,  # as the real model: plate-sized frames must fit the rotary table
        vace_layers=[0, 2],
        vace_in_channels=96,
    ).eval()
    scheduler = FlowMatchEulerDiscreteScheduler(shift=7.0)
    return WanVACEPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler, transformer=transformer
    )


def build_tiny_sd_inpaint_depth(seed: int = 0) -> Any:
    """A tiny StableDiffusionControlNetInpaintPipeline (9-channel inpainting UNet + ControlNet)."""
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        DDIMScheduler,
        StableDiffusionControlNetInpaintPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = _clip_tokenizer()
    _seed_all(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=32,
        in_channels=9,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
    ).eval()
    _seed_all(seed)
    controlnet = ControlNetModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        in_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        cross_attention_dim=32,
        conditioning_embedding_out_channels=(16, 16, 16, 32),  # /8, matching the VAE
    ).eval()
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False
    )
    _seed_all(seed)
    vae = AutoencoderKL(  # four blocks: latents at 1/8 like the real model, so plate-sized frames stay cheap
        block_out_channels=[32, 32, 32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        latent_channels=4,
        layers_per_block=1,
    ).eval()
    _seed_all(seed)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=32,
            intermediate_size=37,
            layer_norm_eps=1e-05,
            num_attention_heads=4,
            num_hidden_layers=5,
            vocab_size=len(tokenizer),
            max_position_embeddings=77,
        )
    ).eval()
    return StableDiffusionControlNetInpaintPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        controlnet=controlnet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


#: kind -> (builder, pipeline class name)
TINY_KINDS: dict[str, tuple[Callable[[int], Any], str]] = {
    "wan-vace": (build_tiny_wan_vace, "WanVACEPipeline"),
    "sd-inpaint-depth": (build_tiny_sd_inpaint_depth, "StableDiffusionControlNetInpaintPipeline"),
}


def build_tiny(kind: str, seed: int = 0) -> Any:
    """The tiny pipeline of ``kind`` (see :data:`TINY_KINDS`), in memory."""
    if kind not in TINY_KINDS:
        raise UsageError(f"unknown tiny model kind {kind!r}: use one of {', '.join(TINY_KINDS)}")
    from ..runtime.loading import force_offline, quiet_progress_bars

    force_offline()
    quiet_progress_bars()
    return TINY_KINDS[kind][0](seed)


def _model_card(kind: str, model_id: str, seed: int) -> str:
    return (
        "---\n"
        "license: apache-2.0\n"
        "library_name: diffusers\n"
        "tags:\n- genpost-houdini\n- tiny-random\n"
        "---\n\n"
        f"# {model_id}\n\n"
        f"A randomly initialised tiny `{TINY_KINDS[kind][1]}` (seed {seed}) written by "
        "`genpost models make-tiny` for tests and CI. Its pixels mean nothing.\n"
    )


def make_tiny(kind: str, folder: str | os.PathLike[str], *, seed: int = 0, force: bool = False) -> Path:
    """Write the tiny pipeline of ``kind`` to ``folder`` (safetensors) and return the path.

    The folder is published whole: written under a temporary name beside it, then renamed. An
    existing non-empty ``folder`` is refused (:class:`UsageError`) unless ``force``.
    """
    target = Path(folder).expanduser()
    if target.exists():
        if not target.is_dir():
            raise UsageError(f"{target} exists and is not a folder")
        if any(target.iterdir()) and not force:
            raise UsageError(f"{target} exists and is not empty (pass --force to replace it)")
    pipe = build_tiny(kind, seed)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.genpost-tmp-", dir=target.parent))
    try:
        pipe.save_pretrained(str(tmp), safe_serialization=True)
        model_id = f"genpost/tiny-{kind}"
        meta = {
            "model_id": model_id,
            "licence": TINY_LICENCE,
            "kind": kind,
            "pipeline": TINY_KINDS[kind][1],
            "seed": seed,
            "created_by": "genpost models make-tiny",
        }
        (tmp / "genpost.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (tmp / "README.md").write_text(_model_card(kind, model_id, seed), encoding="utf-8")
        for root, dirs, files in os.walk(tmp):
            os.chmod(root, 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)
        if target.exists():
            old = target.with_name(f".{target.name}.genpost-old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return target
