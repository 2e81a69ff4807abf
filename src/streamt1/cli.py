"""``streamt1``: the command line.

    streamt1 generate --prompt "a red circle moves left" --method stream-t1 --out outputs
    streamt1 generate --prompts-file prompts.txt --method beam --set search.histories=4
    streamt1 evaluate --methods none,beam,stream-t1 --num-prompts 8 --out runs/eval
    streamt1 sprites train --out weights/ --steps 4000 --device cuda
    streamt1 methods

Exit codes: 0 done, 2 bad input (config, prompt, files), 3 out of GPU memory (finished videos kept).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

import torch

from streamt1 import api
from streamt1.config import BACKENDS, ConfigError, available_methods, build_config
from streamt1.evaluate import LENGTHS

logger = logging.getLogger("streamt1")

EXIT_BAD_INPUT = 2
EXIT_OUT_OF_MEMORY = 3


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate videos with a search method")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", help="text of the video")
    source.add_argument("--prompts-file", help="a file with one prompt per line")
    p.add_argument("--method", default=None, help="a preset from `streamt1 methods` (default stream-t1)")
    p.add_argument("--config", default=None, help="a YAML file with method/search/run settings")
    p.add_argument("--seed", type=int, default=None, help="random seed (same seed, same video)")
    p.add_argument("--num-frames", type=int, default=None,
                   help="latent frames to generate, a multiple of the chunk's latent frames")
    p.add_argument("--out", default=None, help="output folder (default: outputs)")
    p.add_argument("--backend", default=None, choices=BACKENDS, help="generator (default: sprites)")
    p.add_argument("--weights", default=None, help="folder with the backend's local weights")
    p.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any setting, e.g. --set search.tau=0.3 (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--overwrite", action="store_true",
                   help="regenerate prompts whose outputs exist (default: skip them, so runs resume)")


def _generate(args: argparse.Namespace) -> int:
    config = build_config(args.method or "stream-t1", args.config, args.overrides,
                          seed=args.seed, num_frames=args.num_frames, out=args.out,
                          backend=args.backend, weights=args.weights, device=args.device,
                          progress=False if args.no_progress else None)
    if args.method is not None and args.config is not None and config.method != args.method:
        raise ConfigError(f"--method {args.method} conflicts with method: {config.method} in {args.config}")
    prompts = [args.prompt] if args.prompt is not None else api.read_prompts(args.prompts_file)
    if any(not p.strip() for p in prompts):
        raise ConfigError("prompt is empty: give the text of the video to generate")
    components = api.load_components(config)
    search = api.make_search(config, components)
    # Validate everything before any work: the length, and every prompt (a closed-vocabulary
    # backend such as Sprites rejects words it cannot express, listing the ones it knows).
    search.generator.spec.num_chunks(config.run.num_frames)
    for prompt in prompts:
        search.generator.encode_prompt(prompt)
    for prompt in prompts:
        stem = api.output_stem(prompt, config.run.seed)
        if not args.overwrite and api.is_finished(config.run.out, stem):
            print(f"skip   {stem} (done; --overwrite to redo)")
            continue
        result = search.run(prompt, config.run.num_frames, config.run.seed, progress=config.run.progress)
        paths = api.save_result(result, config.run.out, stem)
        score = result.trace.final.scores[result.chosen]
        best = f", video reward {score:.3f}" if score is not None else ""
        print(f"wrote  {paths['video']} ({result.frames.shape[0]} frames{best})")
    return 0


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="run methods on the Sprites eval prompts and tabulate metrics")
    p.add_argument("--methods", default="none,best-of-n,beam,stream-t1",
                   help="comma-separated presets (see `streamt1 methods`); `none` is the baseline of the "
                        "paired differences")
    p.add_argument("--num-prompts", type=int, default=32, help="held-out Sprites prompts to use")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--length", choices=tuple(LENGTHS), default=None,
                        help="named video length: 5s (81 latent frames, default) or 30s (480, the paper's "
                             "long setting)")
    length.add_argument("--num-frames", type=int, default=None, help="latent frames per video")
    p.add_argument("--seeds", default="0,1", help="comma-separated seeds per prompt")
    p.add_argument("--out", default="runs/eval", help="folder for videos, results.json and table.md")
    p.add_argument("--no-videos", action="store_true", help="keep the scores only, write no MP4s")
    p.add_argument("--weights", default=None, help="Sprites weights folder (default: built-in)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda ...")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting for every method, e.g. --set search.fusion=zscore")


def _evaluate(args: argparse.Namespace) -> int:
    from streamt1.evaluate import EvalSettings, run_evaluation

    num_frames = args.num_frames if args.num_frames is not None else LENGTHS[args.length or "5s"]
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    try:
        seeds = tuple(int(s) for s in args.seeds.split(","))
    except ValueError:
        raise ConfigError(f"--seeds {args.seeds!r} must be comma-separated integers") from None
    if args.num_prompts < 1:
        raise ConfigError(f"--num-prompts={args.num_prompts} is invalid: expected an integer >= 1")

    def make_config(method: str):
        return build_config(method, None, args.overrides, num_frames=num_frames,
                            weights=args.weights, device=args.device, backend="sprites")

    configs = [make_config(m) for m in methods]  # validates every method before any work
    settings = EvalSettings(methods=methods, num_prompts=args.num_prompts, num_frames=num_frames, seeds=seeds,
                            save_videos=not args.no_videos)
    components = api.load_components(configs[0])
    components.generator.spec.num_chunks(num_frames)
    run_evaluation(settings, make_config, args.out, components, progress=print, weights=args.weights)
    print((Path(args.out) / "table.md").read_text())
    return 0


def _add_sprites(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sprites", help="train the Sprites world's video model or rewards (GPU advised)")
    p.add_argument("what", choices=("train", "train-rewards"))
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the training script (see --help)")


def _sprites(args: argparse.Namespace) -> int:
    if args.what == "train":
        from streamt1.sprites.train import main as train
    else:
        from streamt1.sprites.train_rewards import main as train
    train(args.args)
    return 0


def _methods(_: argparse.Namespace) -> int:
    for name, description in available_methods().items():
        print(f"{name:22s} {description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamt1", description="Test-time scaling for streaming video generation.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_generate(sub)
    _add_evaluate(sub)
    _add_sprites(sub)
    sub.add_parser("methods", help="list the method presets")
    return parser


COMMANDS = {"generate": _generate, "evaluate": _evaluate, "sprites": _sprites, "methods": _methods}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, ValueError, FileNotFoundError) as err:
        print(f"streamt1: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except torch.cuda.OutOfMemoryError:
        print("streamt1: error: out of GPU memory; finished videos are kept. Lower --set search.max_batch "
              "(candidates per forward) or search.histories / search.expansions, then rerun: "
              "finished prompts are skipped.", file=sys.stderr)
        return EXIT_OUT_OF_MEMORY


if __name__ == "__main__":
    sys.exit(main())
