"""Shape profiles: the (min, opt, max) sizes a denoiser engine is built for.

A profile is stated in video units (frames, pixel height/width, prompt tokens) and turned into
the denoiser's latent tensor shapes with the Wan VAE's scale factors (4 frames, 8 pixels).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

from ..errors import UsageError

Range = tuple[int, int, int]

#: Presets named after the models' native windows (Wan2.1: 81 frames; 1.3B is 480p, 14B 720p).
PRESETS: dict[str, dict[str, int]] = {
    "480p": {"frames": 81, "height": 480, "width": 832},
    "720p": {"frames": 81, "height": 720, "width": 1280},
}
DEFAULT_TEXT_LEN = 512  # Wan pads prompt embeddings to max_sequence_length=512
VAE_SPATIAL = 8
VAE_TEMPORAL = 4


def parse_range(text: str | int, what: str) -> Range:
    """``"17"`` -> (17, 17, 17); ``"9:17:33"`` -> (9, 17, 33); checks min <= opt <= max."""
    parts = str(text).split(":")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise UsageError(f"--{what}: {text!r} is not N or MIN:OPT:MAX") from None
    if len(values) == 1:
        values *= 3
    if len(values) != 3 or not values[0] <= values[1] <= values[2] or values[0] < 1:
        raise UsageError(f"--{what}: {text!r} must be N or MIN:OPT:MAX with 1 <= MIN <= OPT <= MAX")
    return (values[0], values[1], values[2])


@dataclass(frozen=True)
class ShapeProfile:
    """Frames (video frames, 4k+1), height and width (pixels, multiples of 16), prompt tokens."""

    frames: Range
    height: Range
    width: Range
    text_len: Range = (DEFAULT_TEXT_LEN,) * 3  # type: ignore[assignment]

    def __post_init__(self) -> None:
        for f in self.frames:
            if (f - 1) % VAE_TEMPORAL:
                raise UsageError(f"frames {f}: a Wan window has 4k+1 frames (5, 9, ..., 81)")
        for name in ("height", "width"):
            for v in getattr(self, name):
                if v % 16:
                    raise UsageError(f"{name} {v}: must be a multiple of 16")

    @classmethod
    def parse(
        cls,
        *,
        preset: str | None = None,
        frames: str | int | None = None,
        height: str | int | None = None,
        width: str | int | None = None,
        text_len: str | int | None = None,
    ) -> "ShapeProfile":
        """Build from a preset name (``480p``, ``720p``) and/or explicit N or MIN:OPT:MAX values."""
        base: dict[str, Any] = {}
        if preset:
            if preset not in PRESETS:
                raise UsageError(f"unknown profile {preset!r}: use one of {', '.join(PRESETS)}")
            base = dict(PRESETS[preset])
        values = {"frames": frames, "height": height, "width": width, "text_len": text_len}
        for name, value in values.items():
            if value is not None:
                base[name] = value
        missing = [n for n in ("frames", "height", "width") if n not in base]
        if missing:
            raise UsageError(f"shape profile needs --{', --'.join(missing)} (or --profile 480p|720p)")
        base.setdefault("text_len", DEFAULT_TEXT_LEN)
        return cls(**{n: parse_range(v, n.replace("_", "-")) for n, v in base.items()})

    @classmethod
    def static(cls, frames: int, height: int, width: int, text_len: int = DEFAULT_TEXT_LEN) -> "ShapeProfile":
        return cls((frames,) * 3, (height,) * 3, (width,) * 3, (text_len,) * 3)  # type: ignore[arg-type]

    @classmethod
    def from_latent_shapes(cls, hidden_shape: tuple[int, ...], text_len: int) -> "ShapeProfile":
        """The static profile of one denoiser call (``hidden_states`` shape B, C, F, H, W)."""
        _, _, f, h, w = hidden_shape
        return cls.static((f - 1) * VAE_TEMPORAL + 1, h * VAE_SPATIAL, w * VAE_SPATIAL, text_len)

    def to_dict(self) -> dict[str, list[int]]:
        return {k: list(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ShapeProfile":
        names = ("frames", "height", "width", "text_len")
        return cls(**{k: tuple(int(x) for x in data[k]) for k in names})  # type: ignore[arg-type]

    def spec(self) -> str:
        """Short text form, e.g. ``f81 h480 w832 t512`` or ``f9:17:33 ...``."""

        def one(r: Range) -> str:
            return str(r[0]) if r[0] == r[1] == r[2] else ":".join(map(str, r))

        return f"f{one(self.frames)} h{one(self.height)} w{one(self.width)} t{one(self.text_len)}"

    def tensor_shapes(self, config: Mapping[str, Any]) -> dict[str, tuple[tuple[int, ...], ...]]:
        """(min, opt, max) shapes of every denoiser input for a Wan VACE transformer config."""
        c_in = int(config["in_channels"])
        c_vace = int(config["vace_in_channels"])
        text_dim = int(config["text_dim"])
        n_vace = len(config["vace_layers"])
        out: dict[str, tuple[tuple[int, ...], ...]] = {}
        triples = []
        for i in range(3):
            f = (self.frames[i] - 1) // VAE_TEMPORAL + 1
            h = self.height[i] // VAE_SPATIAL
            w = self.width[i] // VAE_SPATIAL
            triples.append((f, h, w, self.text_len[i]))
        out["hidden_states"] = tuple((1, c_in, f, h, w) for f, h, w, _ in triples)
        out["timestep"] = ((1,),) * 3
        out["encoder_hidden_states"] = tuple((1, t, text_dim) for *_, t in triples)
        out["control_hidden_states"] = tuple((1, c_vace, f, h, w) for f, h, w, _ in triples)
        out["control_hidden_states_scale"] = ((n_vace,),) * 3
        return out

    def covers(self, other: "ShapeProfile") -> bool:
        """True when every shape ``other`` allows lies inside this profile's min..max."""
        return all(
            getattr(self, n)[0] <= getattr(other, n)[0] and getattr(other, n)[2] <= getattr(self, n)[2]
            for n in ("frames", "height", "width", "text_len")
        )
