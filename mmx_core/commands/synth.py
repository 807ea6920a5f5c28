"""``synth``: generate a trailer data set with known structure (planted or published latents)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from mmx_core.commands.argtypes import SEED, add_command, float_in, int_in
from mmx_core.data.synth import SynthConfig, estimate_size_bytes, synthesize
from mmx_core.base.errors import ExitCode, MMXError
from mmx_core.base.outputs import DATASET, check_output, tag_output
from mmx_core.base.paths import data_dir

OUT_HELP = "destination folder (a bare name goes under $MMX_DATA_DIR)"
_DEFAULTS = SynthConfig()
_FLOAT_KNOBS = {
    "genre_strength": "scale of the genre part of a trailer latent (published: of the latents)",
    "subgenre_strength": "scale of the sub-genre content shared by all of a trailer's sequences",
    "trailer_noise": "scale of each trailer's own individuality",
    "sequence_noise": "per-sequence variation",
    "clip_noise": "per-clip variation",
    "frame_noise": "per-audio-frame variation",
    "style_strength": "per-trailer, per-expert nuisance ('style') shared by the trailer's clips",
    "feature_noise": "noise in feature space",
    "missing_audio": "share of clips without audio (stored as missing)",
    "short_sequence_rate": "share of sequences with fewer than 9 clips",
    "expert_corruption": "probability that an expert of a trailer renders another trailer's latent "
                         "(an unreliable expert; what collaborative gating is for)",
}


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "synth", run, help="generate a trailer data set (planted sub-genres or published latents)",
        description="Generate a trailer data set in the project format. See docs/data-format.md for the "
                    "generative model and its knobs.")
    tag_output(parser.add_argument("--out", required=True, help=OUT_HELP), DATASET)
    parser.add_argument("--trailers", type=int_in(1), default=None,
                        help="number of trailers (required for planted; published default: all 7,594)")
    parser.add_argument("--seed", type=SEED, default=0, help="same seed and knobs give identical files")
    parser.add_argument("--latent", choices=("planted", "published"), default="planted",
                        help="planted sub-genres, or the published embeddings as latents")
    parser.add_argument("--dims", default=None,
                        help="expert dims override, e.g. image=16,scene=16,motion=8,audio=4 (default: real dims)")
    parser.add_argument("--subgenres", type=int_in(1), default=_DEFAULTS.subgenres_per_genre, help="sub-genres per genre")
    parser.add_argument("--latent-dim", type=int_in(2), default=None, help="latent dimension (default 64 planted, 128 published)")
    for knob, text in _FLOAT_KNOBS.items():
        parser.add_argument("--" + knob.replace("_", "-"), type=float_in(0), default=getattr(_DEFAULTS, knob), help=text)
    parser.add_argument("--visibility", type=float_in(0, 1, low_open=True), default=_DEFAULTS.visibility,
                        help="fraction of latent coordinates each expert sees")
    parser.add_argument("--style-dim", type=int_in(1), default=_DEFAULTS.style_dim, help="dimension of the style nuisance")
    parser.add_argument("--style-looks", type=int_in(0), default=_DEFAULTS.style_looks,
                        help="0: a style per trailer (it identifies the trailer); K: each trailer shows one of K "
                             "production looks, shared by all its experts")
    parser.add_argument("--sequences", type=int_in(1), nargs=2, metavar=("MIN", "MAX"), default=list(_DEFAULTS.sequences),
                        help="sequences per trailer, uniform")
    parser.add_argument("--audio-frames", type=int_in(1), nargs=2, metavar=("MIN", "MAX"), default=list(_DEFAULTS.audio_frames),
                        help="audio frames per clip, uniform")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing data set at --out")


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


def command_line(name: str, args, positional: tuple[str, ...] = (), keys: list[str] | None = None) -> str:
    """The command that reproduces this run, rebuilt from the parsed options (recorded in the manifest and
    results): the options ``keys`` in their order, else every option."""
    given = [getattr(args, p) for p in positional]
    parts = ["python", "-m", "mmx_core", name] + [str(v) for g in given for v in (g if isinstance(g, list) else [g])]
    items = sorted(vars(args).items()) if keys is None else [(key, getattr(args, key, None)) for key in keys]
    for key, value in items:
        if key in ("func", "command", "verbose") or key in positional or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            parts.append(flag)
        elif isinstance(value, (list, tuple)):
            parts += [flag, *map(str, value)]
        else:
            parts += [flag, str(value)]
    return shlex.join(parts)


def resolve_out(out: str, *, inputs=(), reads=(), overwrite: bool = False) -> Path:
    """The data set folder ``--out`` names (a bare name goes under the data folder), checked by the output
    contract (:func:`mmx_core.base.outputs.check_output`): an empty or unsafe ``--out`` is refused here."""
    text = (out or "").strip()
    path = Path(text)
    if text and not (path.is_absolute() or len(path.parts) > 1 or text.startswith(".")):
        path = data_dir() / path
    check_output(path if text else "", DATASET, inputs=inputs, reads=reads, overwrite=overwrite)
    return path


def run(args) -> int:
    out = resolve_out(args.out, overwrite=args.overwrite)
    if args.latent == "planted" and args.trailers is None:
        raise MMXError("--trailers is required with --latent planted")
    knobs = dict(
        latent=args.latent, dims=parse_dims(args.dims), subgenres_per_genre=args.subgenres,
        latent_dim=args.latent_dim, visibility=args.visibility, style_dim=args.style_dim,
        style_looks=args.style_looks,
        sequences=tuple(args.sequences), audio_frames=tuple(args.audio_frames),
        **{knob: getattr(args, knob) for knob in _FLOAT_KNOBS},
    )
    command = command_line("synth", args)
    estimate = estimate_size_bytes(args.trailers or 7594, SynthConfig(**knobs))
    size = f"{estimate / 1e9:.2f} GB" if estimate >= 1e9 else f"{estimate / 1e6:.1f} MB"
    print(f"generating {args.trailers or 'all published'} trailers ({args.latent} latents) into {out}, about {size}",
          file=sys.stderr)
    path = synthesize(out, args.trailers, args.seed, overwrite=args.overwrite, command=command, **knobs)
    manifest = json.loads((path / "manifest.json").read_text())
    counts = manifest["counts"]
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"wrote {path}: {counts['trailers']} trailers, {counts['sequences']} sequences, {counts['clips']} clips, "
          f"{len(manifest['genres'])} genres, {size / 1e6:.1f} MB (generated features)")
    return ExitCode.OK
