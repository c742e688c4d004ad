"""Command line: ``reproduce train | ablation | eval | upscale | run | data``.

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


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def parse_size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", ",").replace("x", ",").split(",")
    try:
        height, width = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be H,W (two whole numbers, rows first), got {text!r}") from None
    if height <= 0 or width <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return height, width


def _bad(message):
    raise argparse.ArgumentTypeError(message)


DEVICE_HELP = "cpu, cuda, cuda:N, mps, or auto (CUDA when available)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="reproduce", description="Arbitrary-scale super-resolution (LIIF reproduction).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="train a model from a YAML config")
    p.add_argument("config", help="YAML config (see configs/)")
    p.add_argument("--resume", action="store_true", help="continue the run in the config's out_dir")
    p.add_argument("--out-dir", help="override run.out_dir")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value by its dotted key; the value is YAML (-p train.steps=200)")

    p = sub.add_parser("ablation", help="train one ablation arm and seed of 05_ablations and store its weights")
    p.add_argument("arm", help="LIIF, LIIF-c, LIIF-u, LIIF-e, LIIF-d, EDSR-baseline-x2, -x3 or -x4")
    p.add_argument("seed", type=int, help="the seed (also the batch stream and the initial weights)")
    p.add_argument("--config-dir", default="configs/cpu", help="folder of the configs the arms change (default configs/cpu)")
    p.add_argument("--run-dir", default="runs/cpu/ablations", help="training run folders, resumed if present")
    p.add_argument("--store", default="results/checkpoints/ablations", help="where the weights go (<arm>-seed<k>.pt)")

    p = sub.add_parser("ipf-seed", help="train the full IPF of 06_ipf with another seed (its training noise) and store its weights")
    p.add_argument("seed", type=int, help="1, 2, ... (seed 0 is the committed IPF)")
    p.add_argument("--config-dir", default="configs/cpu", help="folder of ipf.yaml (default configs/cpu)")
    p.add_argument("--run-dir", default="runs/cpu", help="training run folders (<run-dir>/ipf-seed<k>), resumed if present")
    p.add_argument("--liif", default="results/checkpoints/edsr-baseline-liif.pt", help="the frozen LIIF it is built on")
    p.add_argument("--store", default="results/checkpoints", help="where the weights go (<store>/ipf-seeds/ipf-seed<k>.pt)")

    p = sub.add_parser("eval", help="PSNR/SSIM on benchmark sets")
    p.add_argument("model", help="checkpoint path, or 'bicubic'")
    p.add_argument("--sets", default="Set5,Set14,B100,Urban100",
                   help="comma-separated dataset names or folders of HR images")
    p.add_argument("--preset", choices=("benchmark-y", "div2k-rgb"),
                   help="metric preset for sets given as folders (default: benchmark-y); named sets use their own")
    p.add_argument("--scales", type=parse_scales, default=[2.0, 3.0, 4.0], help="comma-separated scales, e.g. 2,3,4,6")
    p.add_argument("--csv", help="also write the table to this CSV file")
    p.add_argument("--limit", type=positive_int, help="only the first N images of each set")
    p.add_argument("--chunk", type=positive_int, default=30000, help="queries decoded at once")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (fast with AMX, AVX-512 or a GPU; on a CPU without them emulated by fp32 kernels, slower than fp32)")
    p.add_argument("--device", default="auto", help=DEVICE_HELP)

    p = sub.add_parser("upscale", help="super-resolve one image, or many (a folder, a glob or several files)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image file(s), folder(s) or quoted glob pattern(s)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--scale", type=parse_scale, help="scale factor (>= 1, may be fractional: 3.7)")
    group.add_argument("--size", type=parse_size, help="output size H,W (rows first; at least the input size)")
    p.add_argument("--checkpoint", required=True,
                   help="checkpoint (ours or the official LIIF/MetaSR release format; SRCNN, SRResNet, SRGAN too), or 'bicubic'")
    p.add_argument("-o", "--output", required=True,
                   help="output image (.png, .webp, .bmp, .jpg, .tif) for one input; an output folder for several")
    p.add_argument("--format", default="png", help="file format of a batch's outputs: png (default), webp, bmp, jpg, tif")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--skip-existing", action="store_true", help="in a batch, keep existing outputs and do the rest")
    p.add_argument("--chunk", type=positive_int, default=30000, help="queries decoded at once")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (fast with AMX, AVX-512 or a GPU; on a CPU without them emulated by fp32 kernels, slower than fp32)")
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p = sub.add_parser("run", help="execute notebooks with papermill (the report pipeline)")
    p.add_argument("notebooks", nargs="*", help="notebooks to run (e.g. 01 02_train); default: all, in order")
    p.add_argument("--profile", default="report", help="parameter profile: smoke, cpu, paper, report (profiles/*.yaml)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a notebook parameter; the value is YAML (lists work: -p scales_out=[6,12])")
    p.add_argument("--work", default=None, metavar="DIR",
                   help="scratch folder for a profile's {work} outputs and the evaluation cache (smoke: default runs/smoke)")

    p = sub.add_parser("data", help="get the datasets (fetch) or verify a data folder (check)")
    data_sub = p.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    q = data_sub.add_parser("fetch", help="download the public datasets into the data root and verify every image")
    q.add_argument("sets", nargs="*", help="sets to fetch (default: all of them; normal maps are not fetched)")
    q.add_argument("--root", help="data root (default: $REPRODUCE_DATA or the repository's data/)")
    q = data_sub.add_parser("check", help="verify a data root against the manifest (missing, extra, differing images)")
    q.add_argument("sets", nargs="*", help="sets to check (default: all of them)")
    q.add_argument("--root", help="data root (default: $REPRODUCE_DATA or the repository's data/)")
    return parser


def cmd_run(args) -> None:
    from .device import has_bf16_kernels
    from .runner import load_profile, parse_overrides, run

    overrides = parse_overrides(args.param)
    mode = overrides.get("scores", load_profile(args.profile)[0].get("scores", "sample"))
    if mode != "full" and not has_bf16_kernels("cpu"):
        # 'sample' and 'extend' score in the committed table's precision (scores.scoring_settings), on the CPU: bf16
        # for most tables, emulated on an AVX2-only CPU (reproduce.emulated_bf16) in about 1.3x fp32's time
        print("note: this CPU has no fast bf16 kernels (it needs AVX-512 or AMX): a notebook whose committed scores "
              "were made with bf16 rechecks and extends them in bf16 emulated by fp32 kernels, slower than fp32 "
              "and many times slower than on an AMX host (benchmarks/bf16_emulation.py measures it "
              "against committed scores); make reproduce is sized for an AMX host", file=sys.stderr)
    run(args.notebooks, args.profile, overrides, log=lambda msg: print(msg, flush=True),
        work=Path(args.work).resolve() if args.work else None)  # relative to where the command runs


def dotted_overrides(pairs: list[str]) -> dict:
    """``["train.steps=200", "run.out_dir=runs/x"]`` -> ``{"train": {"steps": 200}, "run": {"out_dir": "runs/x"}}``."""
    from .config import nest_dotted
    from .runner import parse_overrides

    return nest_dotted(parse_overrides(pairs))


def cmd_train(args) -> None:
    from .config import load_config
    from .engine import train

    overrides = dotted_overrides(args.param)
    if args.out_dir:
        overrides.setdefault("run", {})["out_dir"] = args.out_dir
    cfg = load_config(args.config, overrides or None)
    path = train(cfg, resume=args.resume, log=lambda msg: print(msg, flush=True))
    print(f"checkpoint: {path}")


def cmd_ablation(args) -> None:
    from .ablations import checkpoint_path, train_arm

    if args.seed < 0:
        raise ReproduceError(f"seed must be 0 or more, got {args.seed}")
    target = checkpoint_path(args.store, args.arm, args.seed)  # an unknown arm: ReproduceError naming the known ones
    if target.exists():
        raise ReproduceError(f"{target} exists: delete it to retrain (its scores would no longer match)")
    path = train_arm(args.arm, args.seed, args.config_dir, args.run_dir, args.store, log=lambda m: print(m, flush=True))
    print(f"weights: {path}")


def cmd_ipf_seed(args) -> None:
    from .ipf_study import seed_checkpoint_path, train_seed

    if args.seed < 1:
        raise ReproduceError(f"seed must be 1 or more (seed 0 is the committed IPF), got {args.seed}")
    target = seed_checkpoint_path(args.store, args.seed)
    if target.exists():
        raise ReproduceError(f"{target} exists: delete it to retrain (its scores would no longer match)")
    if not Path(args.liif).is_file():
        raise ReproduceError(f"no LIIF checkpoint at {args.liif}")
    path = train_seed(args.seed, args.config_dir, args.run_dir, args.liif, args.store, log=lambda m: print(m, flush=True))
    print(f"weights: {path}")


def cmd_eval(args) -> None:
    from .data import dataset_files
    from .device import pick_device
    from .evaluate import evaluate, format_header, write_csv
    from .metrics import get_preset
    from .models import load
    from .fileio import check_writable
    from .upscale_files import method_kind

    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    if not sets:
        raise ReproduceError(f"no sets in {args.sets!r}")
    for name in sets:  # every name checked before any scoring
        dataset_files(name)
    if args.csv:
        folder = Path(args.csv).resolve().parent
        if Path(args.csv).is_dir():
            raise ReproduceError(f"--csv {args.csv} is a folder; give a file name such as {Path(args.csv) / 'scores.csv'}")
        if not folder.is_dir():
            raise ReproduceError(f"output folder does not exist: {Path(args.csv).parent}")
        check_writable(folder)
    preset = get_preset(args.preset) if args.preset else None
    device = pick_device(args.device)
    method = "bicubic" if args.model == "bicubic" else load(args.model, device)
    method_kind(method)  # refuses a checkpoint that is no super-resolution model
    warn_slow_bf16(args.bf16, device)
    # The table is printed once, a row as soon as it is computed.
    print(format_header(), flush=True)
    rows = evaluate(method, sets, args.scales, chunk=args.chunk, bf16=args.bf16, limit=args.limit, preset=preset,
                    progress=lambda line: print(line, flush=True))
    if args.csv:
        write_csv(args.csv, rows)


def warn_slow_bf16(bf16: bool, device) -> None:
    """A note on stderr when --bf16 is asked for on a device whose bf16 is slower than fp32."""
    from .device import bf16_arithmetic, has_bf16_kernels

    if bf16 and not has_bf16_kernels(device):
        how = ("emulated by fp32 kernels (bf16 arithmetic up to the order of fp32 additions), slower than fp32 but "
               "far faster than this CPU's own bf16 kernels" if bf16_arithmetic(device) == "emulated"
               else "much slower than fp32 here")
        print(f"note: {device} has no fast bf16 kernels (a CPU needs AVX-512 or AMX): --bf16 is {how}", file=sys.stderr)


def cmd_upscale(args) -> None:
    from .device import pick_device
    from .models import load
    from .upscale_files import hw, method_kind, plan_jobs, upscale_files

    jobs, skipped, batch = plan_jobs(args.inputs, args.output, overwrite=args.overwrite, skip_existing=args.skip_existing,
                              suffix=f".{args.format.lower().lstrip('.')}")
    device = pick_device(args.device)
    method = "bicubic" if args.checkpoint == "bicubic" else load(args.checkpoint, device)
    method_kind(method)  # refuses a checkpoint that is no super-resolution model
    warn_slow_bf16(args.bf16, device)
    if not batch and args.format != "png":
        print(f"note: --format applies to batches; the output format comes from {args.output}", file=sys.stderr)
    for job in skipped:
        print(f"kept {job.target} (exists)", file=sys.stderr)

    def report(result):
        for note in result.notes:
            print(f"note: {result.job.source}: {note}", file=sys.stderr)
        if result.error is None:
            print(f"{result.job.source} ({hw(result.in_size)}) -> {result.job.target} ({hw(result.out_size)}, H x W)")
        elif batch:
            print(f"failed: {result.job.source}: {result.error}", file=sys.stderr)

    results = upscale_files(method, jobs, scale=args.scale, size=args.size, chunk=args.chunk, bf16=args.bf16,
                            progress=batch and sys.stderr.isatty(), report=report)
    failed = [r for r in results if r.error]
    if not batch and failed:
        raise ReproduceError(failed[0].error)
    if batch:
        done = len(results) - len(failed)
        print(f"upscaled {done} of {len(jobs)} image(s) into {Path(args.output)}"
              + (f", kept {len(skipped)} existing" if skipped else "")
              + (f"; {len(failed)} failed (listed above)" if failed else ""), file=sys.stderr)
        if failed:
            raise SystemExit(2)


def cmd_data(args) -> None:
    from .data.fetch import check, fetch

    log = lambda msg: print(msg, flush=True)  # noqa: E731
    if args.data_command == "fetch":
        result = fetch(args.sets, args.root, log=log)
        if not result.ok:  # the per-set lines above name the images
            raise ReproduceError("some images could not be fetched or did not verify (listed above); run again to retry")
    else:
        result = check(args.root, args.sets, log=log)
        if not result.ok:
            counts = result.counts()
            raise ReproduceError(f"data root differs from the manifest: {counts['missing']} missing, "
                                 f"{counts['differing']} differing, {counts['extra']} extra image(s) (listed above)")


COMMANDS = {"train": cmd_train, "ablation": cmd_ablation, "ipf-seed": cmd_ipf_seed, "eval": cmd_eval, "upscale": cmd_upscale, "run": cmd_run, "data": cmd_data}


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
