"""Command line: ``reproduce train | eval | upscale | run``.

Problems the user can fix (bad arguments, unreadable files, missing data,
foreign checkpoints) end with one ``error:`` line on stderr and exit code 2;
nothing is written unless it is complete (outputs are renamed into place).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from .errors import ReproduceError

OUTPUT_SUFFIXES = {".png": "PNG", ".webp": "WEBP", ".bmp": "BMP", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line, exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_scale(text: str) -> float:
    try:
        scale = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"scale must be a number, got {text!r}") from None
    if not math.isfinite(scale) or scale <= 0:
        raise argparse.ArgumentTypeError(f"scale must be a positive number, got {text!r}")
    if scale < 1:
        raise argparse.ArgumentTypeError(f"scale {text} is below 1: these models upscale; use a scale >= 1")
    return scale


def parse_scales(text: str) -> list[float]:
    return [parse_scale(part) for part in text.split(",") if part.strip()] or _bad(f"no scales in {text!r}")


def parse_size(text: str) -> tuple[int, int]:
    parts = text.replace("x", ",").split(",")
    try:
        height, width = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be H,W (two whole numbers, rows first), got {text!r}") from None
    if height <= 0 or width <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return height, width


def _bad(message):
    raise argparse.ArgumentTypeError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="reproduce", description="Arbitrary-scale super-resolution (LIIF reproduction).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="train a model from a YAML config")
    p.add_argument("config", help="YAML config (see configs/)")
    p.add_argument("--resume", action="store_true", help="continue the run in the config's out_dir")
    p.add_argument("--out-dir", help="override run.out_dir")

    p = sub.add_parser("eval", help="PSNR/SSIM on benchmark sets")
    p.add_argument("model", help="checkpoint path, or 'bicubic'")
    p.add_argument("--sets", default="Set5,Set14,B100,Urban100", help="comma-separated dataset names")
    p.add_argument("--scales", type=parse_scales, default=[2.0, 3.0, 4.0], help="comma-separated scales, e.g. 2,3,4,6")
    p.add_argument("--csv", help="also write the table to this CSV file")
    p.add_argument("--limit", type=int, help="only the first N images of each set")
    p.add_argument("--chunk", type=int, default=30000, help="queries decoded at once")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    p.add_argument("--device", default="auto", help="cpu, cuda, or auto")

    p = sub.add_parser("upscale", help="super-resolve one image")
    p.add_argument("image", help="input image")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--scale", type=parse_scale, help="scale factor (>= 1, may be fractional: 3.7)")
    group.add_argument("--size", type=parse_size, help="output size H,W (rows first)")
    p.add_argument("--checkpoint", required=True, help="checkpoint (ours or the official LIIF release format)")
    p.add_argument("-o", "--output", required=True, help="output image (.png, .webp, .bmp, .jpg, .tif)")
    p.add_argument("--chunk", type=int, default=30000, help="queries decoded at once")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    p.add_argument("--device", default="auto", help="cpu, cuda, or auto")
    p = sub.add_parser("run", help="execute notebooks with papermill (the report pipeline)")
    p.add_argument("notebooks", nargs="*", help="notebooks to run (e.g. 01 02_train); default: all, in order")
    p.add_argument("--profile", default="report", help="parameter profile: smoke, cpu, paper, report (profiles/*.yaml)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a notebook parameter; the value is YAML (lists work: -p scales=[2,4])")
    return parser


def cmd_run(args) -> None:
    from .runner import parse_overrides, run

    run(args.notebooks, args.profile, parse_overrides(args.param), log=lambda msg: print(msg, flush=True))


def cmd_train(args) -> None:
    from .config import load_config
    from .engine import train

    overrides = {"run": {"out_dir": args.out_dir}} if args.out_dir else None
    cfg = load_config(args.config, overrides)
    path = train(cfg, resume=args.resume, log=lambda msg: print(msg, flush=True))
    print(f"checkpoint: {path}")


def cmd_eval(args) -> None:
    from .engine.train import pick_device
    from .evaluate import evaluate, format_table, write_csv
    from .models import load

    if args.csv and not Path(args.csv).resolve().parent.is_dir():
        raise ReproduceError(f"output folder does not exist: {Path(args.csv).parent}")
    method = "bicubic" if args.model == "bicubic" else load(args.model, pick_device(args.device))
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    rows = evaluate(method, sets, args.scales, chunk=args.chunk, bf16=args.bf16, limit=args.limit,
                    progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(format_table(rows))
    if args.csv:
        write_csv(args.csv, rows)


def cmd_upscale(args) -> None:
    import torch
    from PIL import Image

    from .data import read_image, to_tensor
    from .engine import upscale
    from .engine.train import pick_device
    from .fileio import atomic_path
    from .models import load

    out = Path(args.output)
    fmt = OUTPUT_SUFFIXES.get(out.suffix.lower())
    if fmt is None:
        raise ReproduceError(f"cannot tell the output format from {out.name!r}; use one of {', '.join(OUTPUT_SUFFIXES)}")
    if not out.resolve().parent.is_dir():
        raise ReproduceError(f"output folder does not exist: {out.parent}")
    img = read_image(args.image)
    device = pick_device(args.device)
    model = load(args.checkpoint, device)
    if not hasattr(model, "query"):
        raise ReproduceError(f"{args.checkpoint} holds a {type(model).__name__}, not an arbitrary-scale model")
    size = args.size or (round(img.shape[0] * args.scale), round(img.shape[1] * args.scale))
    # uint8 output: 3 bytes per output pixel, so a 6000x6000 result stays small.
    sr = upscale(model, to_tensor(img).to(device), size, chunk=args.chunk, bf16=args.bf16, out_dtype=torch.uint8)
    with atomic_path(out) as tmp:
        Image.fromarray(sr.permute(1, 2, 0).cpu().numpy()).save(tmp, format=fmt)
    print(f"{args.image} ({img.shape[1]}x{img.shape[0]}) -> {out} ({size[1]}x{size[0]})")


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "upscale": cmd_upscale, "run": cmd_run}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except ReproduceError as exc:
        print(f"reproduce {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"reproduce {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
