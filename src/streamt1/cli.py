"""``streamt1``: the command line.

    streamt1 generate --prompt "a red circle moves left" --method stream-t1 --out outputs
    streamt1 generate --prompt "a red circle moves left" --prompt "a red circle moves up" --switch-at 24
    streamt1 generate --prompts-file prompts.txt --method beam --set search.histories=4
    streamt1 evaluate --methods none,beam,stream-t1 --num-prompts 8 --out runs/eval
    streamt1 score outputs/ --metrics subject_consistency,aesthetic_quality --weights ~/.cache/vbench
    streamt1 sprites train --out weights/ --steps 4000 --device cuda
    streamt1 sprites train-rewards --out weights/
    streamt1 generate --backend longlive --weights W --prompt "a fox runs in the snow" --reward-device cuda:1
    streamt1 evaluate --switches --methods none,stream-t1 --out runs/eval-switch
    streamt1 score outputs/ --metrics subject_consistency --video-reward videoalign=weights/VideoReward
    streamt1 methods
    streamt1 rewards

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
from streamt1.backends import BACKENDS, backend_names
from streamt1.config import ConfigError, available_methods, build_config
from streamt1.rewards import REWARDS
from streamt1.schedule import PromptSchedule, from_switches, parse_switch_frames, read_schedules

logger = logging.getLogger("streamt1")

EXIT_BAD_INPUT = 2
EXIT_OUT_OF_MEMORY = 3


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate videos with a search method")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", action="append",
                        help="text of the video; repeat it, with --switch-at, to switch prompts mid-video")
    source.add_argument("--prompts-file",
                        help="one prompt per line (.txt), LongLive's JSONL of {\"prompts\": [...], "
                             "\"switch_frame_indices\": [...]} (.jsonl), or a YAML list of {prompt, from_frame}")
    p.add_argument("--switch-at", action="append", default=[], metavar="FRAME[,FRAME...]",
                   help="latent frame where the next --prompt starts, a multiple of the chunk "
                        "(repeatable or comma-separated, LongLive's switch_frame_indices)")
    p.add_argument("--method", default=None, help="a preset from `streamt1 methods` (default stream-t1)")
    p.add_argument("--config", default=None, help="a YAML file with method/search/run/rewards settings")
    p.add_argument("--seed", type=int, default=None, help="random seed (same seed, same video)")
    p.add_argument("--num-frames", type=int, default=None,
                   help="latent frames to generate, a multiple of the chunk's latent frames")
    p.add_argument("--out", default=None, help="output folder (default: outputs)")
    p.add_argument("--backend", default=None, choices=backend_names(), help="generator (default: sprites)")
    p.add_argument("--weights", default=None, help="folder with the backend's local weights (and its rewards')")
    p.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:1 ...")
    _add_reward_flags(p)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any setting, e.g. --set search.tau=0.3 (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--overwrite", action="store_true",
                   help="regenerate prompts whose outputs exist (default: skip them, so runs resume)")


def _add_reward_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image-reward", default=None, metavar="NAME[=PATH]",
                   help="short-term reward (see `streamt1 rewards`); default: the backend's, under --weights")
    p.add_argument("--video-reward", default=None, metavar="NAME[=PATH]",
                   help="long-term and final-pick reward; default: the backend's, under --weights")
    p.add_argument("--reward-device", default=None, help="where rewards run (default: --device), e.g. cuda:1")
    p.add_argument("--offload-rewards", action="store_true", default=None,
                   help="keep reward weights on the CPU between calls (GPUs under 80 GB)")


def _reward_flags(args: argparse.Namespace) -> dict:
    return {"image": args.image_reward, "video": args.video_reward, "device": args.reward_device,
            "offload": args.offload_rewards}


def _generate(args: argparse.Namespace) -> int:
    config = build_config(args.method or "stream-t1", args.config, args.overrides, rewards=_reward_flags(args),
                          seed=args.seed, num_frames=args.num_frames, out=args.out,
                          backend=args.backend, weights=args.weights, device=args.device,
                          progress=False if args.no_progress else None)
    if args.method is not None and args.config is not None and config.method != args.method:
        raise ConfigError(f"--method {args.method} conflicts with method: {config.method} in {args.config}")
    schedules = _schedules(args)
    components = api.load_components(config)
    search = api.make_search(config, components)
    # Validate everything before any work: the length, every switch, and every prompt (a closed-
    # vocabulary backend such as Sprites rejects words it cannot express, listing the ones it knows).
    spec = search.generator.spec
    spec.num_chunks(config.run.num_frames)
    for schedule in schedules:
        schedule.validate(config.run.num_frames, spec.latent_frames)
    api.encode_prompts(components, sorted({p for schedule in schedules for p in schedule.prompts}))
    for schedule in schedules:
        stem = api.schedule_stem(schedule, config.run.seed)
        if not args.overwrite and api.is_finished(config.run.out, stem):
            print(f"skip   {stem} (done; --overwrite to redo)")
            continue
        result = search.run(schedule, config.run.num_frames, config.run.seed, progress=config.run.progress)
        paths = api.save_result(result, config.run.out, stem)
        score = result.trace.final.scores[result.chosen]
        best = f", video reward {score:.3f}" if score is not None else ""
        print(f"wrote  {paths['video']} ({result.frames.shape[0]} frames{best})")
    return 0


def _schedules(args: argparse.Namespace) -> list[PromptSchedule]:
    """The prompt schedules of ``--prompt``/``--switch-at`` or ``--prompts-file``."""
    switch_at = [frame for value in args.switch_at for frame in parse_switch_frames(value, "--switch-at")]
    if args.prompts_file is not None:
        return read_schedules(args.prompts_file, switch_at)
    return [from_switches(args.prompt, switch_at)]


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="run methods on the Sprites eval prompts and tabulate metrics")
    p.add_argument("--methods", default="none,best-of-n,beam,stream-t1",
                   help="comma-separated presets (see `streamt1 methods`)")
    p.add_argument("--num-prompts", type=int, default=8, help="held-out Sprites prompts to use")
    p.add_argument("--num-frames", type=int, default=48, help="latent frames per video")
    p.add_argument("--seeds", default="0", help="comma-separated seeds per prompt")
    p.add_argument("--out", default="runs/eval", help="folder for videos, results.json and table.md")
    p.add_argument("--weights", default=None, help="Sprites weights folder (default: built-in)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda ...")
    _add_reward_flags(p)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting for every method, e.g. --set search.fusion=zscore")
    p.add_argument("--switches", action="store_true",
                   help="two-prompt streams with a scripted switch mid-video (streamt1.evaluate_switch)")


def _evaluate(args: argparse.Namespace) -> int:
    from streamt1.evaluate import EvalSettings, run_evaluation
    from streamt1.evaluate_switch import TABLE_FILE, SwitchSettings, run_switch_evaluation

    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    try:
        seeds = tuple(int(s) for s in args.seeds.split(","))
    except ValueError:
        raise ConfigError(f"--seeds {args.seeds!r} must be comma-separated integers") from None
    if args.num_prompts < 1:
        raise ConfigError(f"--num-prompts={args.num_prompts} is invalid: expected an integer >= 1")

    def make_config(method: str):
        return build_config(method, None, args.overrides, rewards=_reward_flags(args), num_frames=args.num_frames,
                            weights=args.weights, device=args.device, backend="sprites")

    configs = [make_config(m) for m in methods]  # validates every method before any work
    settings = EvalSettings(methods=methods, num_prompts=args.num_prompts, num_frames=args.num_frames,
                            seeds=seeds)
    components = api.load_components(configs[0], reward_kinds=("image", "video"))  # video: for the table
    components.generator.spec.num_chunks(args.num_frames)
    if args.switches:
        switches = SwitchSettings(methods=methods, num_prompts=args.num_prompts, num_frames=args.num_frames,
                                  seeds=seeds)
        run_switch_evaluation(switches, make_config, args.out, components, progress=print)
        print((Path(args.out) / TABLE_FILE).read_text())
        return 0
    run_evaluation(settings, make_config, args.out, components, progress=print)
    print((Path(args.out) / "table.md").read_text())
    return 0


def _add_score(sub: argparse._SubParsersAction) -> None:
    from streamt1.metrics.vbench import AVAILABLE, LONG_MODES

    p = sub.add_parser("score", help="VBench dimensions (and a video reward) for every video of a folder")
    p.add_argument("folder", help="a generate or bench output folder (every .mp4 below it is scored)")
    p.add_argument("--metrics", default=",".join(AVAILABLE),
                   help=f"comma-separated VBench dimensions (default: all of {','.join(AVAILABLE)})")
    p.add_argument("--long", default="auto", choices=LONG_MODES,
                   help="VBench-Long 2 s clips: auto (videos of 5.0 s or more), on, off")
    p.add_argument("--weights", default=None,
                   help="VBench's weights folder (default: $VBENCH_CACHE_DIR or ~/.cache/vbench)")
    p.add_argument("--out", default=None, help="results folder (default: FOLDER/scores)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--clip-precision", default="vbench", choices=("vbench", "fp32"),
                   help="vbench: CLIP in fp16 on a GPU as VBench runs it; fp32: always fp32")
    p.add_argument("--prompt-file", default=None, help="JSON {video path: prompt} (VBench's --prompt_file)")
    p.add_argument("--video-reward", default=None, metavar="NAME[=PATH]",
                   help="also score with this video reward (see `streamt1 rewards`); PATH: its folder "
                        "(built-in rewards need none)")
    p.add_argument("--overwrite", action="store_true", help="discard earlier results instead of resuming")


def _score(args: argparse.Namespace) -> int:
    from streamt1.metrics import score, vbench

    settings = score.ScoreSettings(
        dimensions=tuple(m.strip() for m in args.metrics.split(",") if m.strip()), long=args.long,
        video_reward=args.video_reward)
    device = api.resolve_device(args.device)
    backbones = vbench.Backbones(args.weights or vbench.default_weights_dir(), device,
                                 clip_half=False if args.clip_precision == "fp32" else None)
    vbench.check_weights(settings.dimensions, backbones.weights_dir)
    prompts = score.read_prompt_file(args.prompt_file)
    reward = score.load_reward(settings, device)
    score.score_folder(args.folder, settings, backbones, out=args.out, prompts=prompts, reward=reward,
                       overwrite=args.overwrite, progress=print)
    out = Path(args.out) if args.out is not None else Path(args.folder) / score.DEFAULT_OUT
    print((out / score.TABLE_FILE).read_text())
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


def _rewards(_: argparse.Namespace) -> int:
    for entry in REWARDS.values():
        where = "WEIGHTS" if entry.folder == "." else f"WEIGHTS/{entry.folder}"
        tree = entry.tree.replace("<folder>", where).rstrip().splitlines()
        print(f"{entry.name:14s} {entry.kind:6s} {entry.description}")
        print(f"{'':21s}files: {tree[0]}" + "".join(f"\n{'':28s}{line}" for line in tree[1:]))
        print(f"{'':21s}published: " + f"\n{'':32s}".join(entry.published))
        print(f"{'':21s}licence: {entry.license}")
    print("\ndefaults (--image-reward / --video-reward override them):")
    for backend in BACKENDS.values():
        defaults = ", ".join(f"{kind} {name}" for kind, name in backend.default_rewards.items()) or "none"
        print(f"  --backend {backend.name:13s} {defaults}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamt1", description="Test-time scaling for streaming video generation.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_generate(sub)
    _add_evaluate(sub)
    _add_score(sub)
    _add_sprites(sub)
    sub.add_parser("methods", help="list the method presets")
    sub.add_parser("rewards", help="list the reward models, their files and where they are published")
    return parser


COMMANDS = {"generate": _generate, "evaluate": _evaluate, "score": _score, "sprites": _sprites,
            "methods": _methods, "rewards": _rewards}


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
