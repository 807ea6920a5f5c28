"""``synth``: generate a trailer data set with known structure (planted or published latents)."""

from __future__ import annotations

import json
import shlex
import sys

from ..data.synth import SynthConfig, estimate_size_bytes, synthesize
from ..errors import MMXError
from ..paths import data_dir

_DEFAULTS = SynthConfig()


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "synth", help="generate a trailer data set (planted sub-genres or published latents)",
        description="Generate a trailer data set in the project format. See docs/data-format.md for the "
                    "generative model and its knobs.")
    parser.add_argument("--out", required=True, help="destination folder (a bare name goes under $MMX_DATA_DIR)")
    parser.add_argument("--trailers", type=int, default=None,
                        help="number of trailers (required for planted; published default: all 7,594)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latent", choices=("planted", "published"), default="planted")
    parser.add_argument("--dims", default=None,
                        help="expert dims override, e.g. image=16,scene=16,motion=8,audio=4 (default: real dims)")
    parser.add_argument("--subgenres", type=int, default=_DEFAULTS.subgenres_per_genre, help="sub-genres per genre")
    parser.add_argument("--latent-dim", type=int, default=None, help="latent dimension (default 64 planted, 128 published)")
    for knob in ("genre_strength", "subgenre_strength", "trailer_noise", "sequence_noise", "clip_noise",
                 "frame_noise", "style_strength", "feature_noise", "missing_audio", "short_sequence_rate"):
        parser.add_argument("--" + knob.replace("_", "-"), type=float, default=getattr(_DEFAULTS, knob))
    parser.add_argument("--visibility", type=float, default=_DEFAULTS.visibility,
                        help="fraction of latent coordinates each expert sees")
    parser.add_argument("--style-dim", type=int, default=_DEFAULTS.style_dim)
    parser.add_argument("--sequences", type=int, nargs=2, metavar=("MIN", "MAX"), default=list(_DEFAULTS.sequences))
    parser.add_argument("--audio-frames", type=int, nargs=2, metavar=("MIN", "MAX"), default=list(_DEFAULTS.audio_frames))
    parser.add_argument("--overwrite", action="store_true", help="replace an existing data set at --out")
    parser.set_defaults(func=run)


def parse_dims(text: str | None) -> dict[str, int] | None:
    """``"image=16,scene=16"`` -> ``{"image": 16, "scene": 16}``."""
    if not text:
        return None
    dims = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            dims[name.strip()] = int(value)
        except ValueError:
            raise MMXError(f"--dims: expected name=integer items separated by commas, got {part!r}") from None
    return dims


def resolve_out(out: str):
    from pathlib import Path

    path = Path(out)
    return path if path.is_absolute() or len(path.parts) > 1 or out.startswith(".") else data_dir() / path


def run(args) -> int:
    out = resolve_out(args.out)
    knobs = dict(
        latent=args.latent, dims=parse_dims(args.dims), subgenres_per_genre=args.subgenres,
        latent_dim=args.latent_dim, visibility=args.visibility, style_dim=args.style_dim,
        sequences=tuple(args.sequences), audio_frames=tuple(args.audio_frames),
        **{k: getattr(args, k) for k in ("genre_strength", "subgenre_strength", "trailer_noise", "sequence_noise",
                                         "clip_noise", "frame_noise", "style_strength", "feature_noise",
                                         "missing_audio", "short_sequence_rate")},
    )
    command = "python -m mmx_core " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else "synth"
    estimate = estimate_size_bytes(args.trailers or 7594, SynthConfig(**knobs))
    print(f"generating {args.trailers or 'all published'} trailers ({args.latent} latents) into {out}, "
          f"about {estimate / 1e9:.2f} GB", file=sys.stderr)
    path = synthesize(out, args.trailers, args.seed, overwrite=args.overwrite, command=command, **knobs)
    manifest = json.loads((path / "manifest.json").read_text())
    counts = manifest["counts"]
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"wrote {path}: {counts['trailers']} trailers, {counts['sequences']} sequences, {counts['clips']} clips, "
          f"{len(manifest['genres'])} genres, {size / 1e6:.1f} MB (generated features)")
    return 0
