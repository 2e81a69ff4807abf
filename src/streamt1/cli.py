"""``streamt1``: the command line.

    streamt1 generate --prompt "a red circle moves left" --method stream-t1 --out outputs
    streamt1 generate --prompt "a red circle moves left" --prompt "a red circle moves up" --switch-at 24
    streamt1 generate --prompts-file prompts.txt --method beam --set search.histories=4
    streamt1 evaluate --methods none,beam,stream-t1 --num-prompts 8 --out runs/eval
    streamt1 score outputs/ --metrics subject_consistency,aesthetic_quality --weights ~/.cache/vbench
    streamt1 bench --suite sprites --methods none,stream-t1 --seeds 0,1 --limit 8 --out runs/bench
    torchrun --nproc_per_node 8 -m streamt1 bench --suite vbench-extended --backend longlive ...
    streamt1 sprites train-codec --out weights/ --max-minutes 2 --device cuda
    streamt1 sprites train --out weights/ --codec weights/ --steps 4000 --device cuda
    streamt1 sprites train-rewards --out weights/
    streamt1 sprites record-siblings --out runs/siblings --num-scenes 512 --shard 0 --num-shards 4
    streamt1 sprites rank-rewards --record runs/siblings --out weights-ranked/
    streamt1 generate --backend longlive --weights W --prompt "a fox runs in the snow" --reward-device cuda:1
    streamt1 evaluate --switches --methods none,stream-t1 --out runs/eval-switch
    streamt1 score outputs/ --metrics subject_consistency --video-reward videoalign=weights/VideoReward
    streamt1 methods
    streamt1 rewards

Exit codes: 0 done, 2 bad input (config, prompt, files, a full disk), 3 out of GPU memory, 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM: a job scheduler's stop, `timeout`),
141 output closed by its reader (finished videos are kept in every case; rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import errno
import functools
import importlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from streamt1 import __version__, api
from streamt1.backends import BACKENDS, backend_names
from streamt1.config import (ATTENTION_CHOICES, ConfigError, RunConfig, available_methods, build_config,
                             check_length, chosen_frames, dump_yaml, parse_seeds, refuse_owned_settings,
                             shared_overrides)
from streamt1.devices import resolve_device
from streamt1.evaluate import LENGTHS
from streamt1.outputs import results
from streamt1.outputs.atomic import check_writable_folder
from streamt1.outputs.fingerprint import fingerprint
from streamt1.outputs.lock import check_owner, claim_owner, folder_lock
from streamt1.outputs.progress import ProgressLine, counted, shorten
from streamt1.outputs.video import PyAVMissing, require_pyav
from streamt1.rewards import REWARDS
from streamt1.schedule import PromptSchedule, from_switches, parse_switch_frames, read_schedules, where_in_file
from streamt1.sprites.world import FPS as SPRITES_FPS

logger = logging.getLogger("streamt1")

EXIT_BAD_INPUT = 2
EXIT_OUT_OF_MEMORY = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what shells report for a writer whose reader left
EXIT_TERMINATED = 143  # 128 + SIGTERM

# A full disk, or a path the checks before the work could not see as forbidden (root on /sys, quotas)
FULL_OR_FORBIDDEN = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS)
# What an interrupted command keeps, where it is not finished videos
INTERRUPTED = {"sprites": "`sprites train` saves the steps done at the stop, the other trainers only what they saved "
                          "before (in --out, if anything); a training run does not resume, continue it from saved "
                          "weights with --init",
               "score": "every video scored before the stop is kept - rerun the same command to resume"}
DEFAULT_EVAL_METHODS = "none,best-of-n,beam,stream-t1"
# Libraries that log at INFO / WARNING on every model load; shown only with --verbose.
THIRD_PARTY_LOGGERS = ("transformers", "diffusers", "huggingface_hub", "urllib3", "httpx", "PIL",
                       "matplotlib", "torch", "py.warnings")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: X)`` unless the help already names it or there is no value to show (None, off,
    an empty repeatable flag). Every command's parser uses it, the Sprites trainers' too."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        # by identity: a default of 0 is a value to show, not "off" (0 == False)
        off = any(action.default is v for v in (None, False, argparse.SUPPRESS)) or action.default == []
        if off or "default" in text:
            return text
        return super()._get_help_string(action)


def _sprites_seconds(latent_frames: int) -> str:
    """How long ``latent_frames`` play on the default backend, for the help of --num-frames."""
    return f"{latent_frames / SPRITES_FPS:.3g} s of Sprites video, one frame per latent frame at {SPRITES_FPS} fps"


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate videos with a search method", formatter_class=HelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", action="append",
                        help="text of the video; repeat it, with --switch-at, to switch prompts mid-video")
    source.add_argument("--prompts-file",
                        help="one prompt per line (.txt; blank lines and lines starting with # skipped), a JSON "
                             "list of prompts or VBench's {video: prompt} map "
                             "(.json, e.g. an earlier run's prompt_file.json), LongLive's JSONL of {\"prompts\": "
                             "[...], \"switch_frame_indices\": [...]} (.jsonl), or a YAML list of {prompt, from_frame}")
    p.add_argument("--switch-at", action="append", default=[], metavar="FRAME[,FRAME...]",
                   help="latent frame where the next --prompt starts, a multiple of the chunk "
                        "(repeatable or comma-separated, LongLive's switch_frame_indices)")
    p.add_argument("--method", default=None, help="a preset from `streamt1 methods` (default stream-t1)")
    p.add_argument("--config", default=None, help="a YAML file with method/search/run/rewards settings")
    p.add_argument("--seed", type=int, default=None, help="random seed (same seed, same video; default 0)")
    p.add_argument("--num-frames", type=int, default=None,
                   help=f"latent frames to generate, a multiple of the chunk's latent frames (default "
                        f"{RunConfig.num_frames}: {_sprites_seconds(RunConfig.num_frames)})")
    p.add_argument("--out", default=None, help="output folder (default: outputs)")
    p.add_argument("--backend", default=None, choices=backend_names(), help="generator (default: sprites)")
    p.add_argument("--weights", default=None, help="folder with the backend's local weights (and its rewards')")
    p.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:1 ... (default auto)")
    _add_reward_flags(p)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any setting, e.g. --set search.tau=0.3 (repeatable; every key and its "
                        "default: `streamt1 config --method M`)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the generator's blocks (run.compile; compiling takes minutes once)")
    p.add_argument("--attention", default=None, choices=ATTENTION_CHOICES,
                   help="SDPA kernel tried first (run.attention; default auto: cuDNN on Hopper GPUs, PyTorch's "
                        "choice elsewhere)")
    p.add_argument("--overwrite", action="store_true",
                   help="regenerate prompts whose outputs exist (default: skip those made with the same "
                        "settings, so runs resume; stop if they were made with other settings)")


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


def _check_devices(args: argparse.Namespace) -> None:
    """The device flags, checked as given so that errors name the flag (``use --device cpu``), not the
    setting it fills (``run.device``)."""
    for flag, name in (("--device", args.device), ("--reward-device", getattr(args, "reward_device", None))):
        if name is not None:
            resolve_device(name, flag)


def _generate(args: argparse.Namespace) -> int:
    _check_devices(args)
    config = build_config(args.method, args.config, args.overrides, rewards=_reward_flags(args),
                          seed=args.seed, num_frames=args.num_frames, out=args.out,
                          backend=args.backend, weights=args.weights, device=args.device,
                          progress=False if args.no_progress else None, compile=args.compile,
                          attention=args.attention)
    schedules = _schedules(args)
    out = check_writable_folder(config.run.out)  # before any model loads: else the video is lost at its save
    check_owner(out, "generate")
    require_pyav()
    components = api.load_components(config, schedules=schedules)  # the length and every switch checked first
    search = api.make_search(config, components)
    # Validate every prompt before any work (a closed-vocabulary backend such as Sprites rejects words it
    # cannot express, listing the ones it knows).
    prompts = list(dict.fromkeys(p for schedule in schedules for p in schedule.prompts))  # in the file's order
    try:
        api.encode_prompts(components, prompts)
    except ValueError as err:
        raise ValueError(f"{err}{where_in_file(args.prompts_file, str(err))}") from None
    settings = api.run_settings(config, components)
    claim_owner(out, "generate")
    unique = list({repr(schedule.to_list()): schedule for schedule in schedules}.values())  # in the file's order
    if len(unique) < len(schedules):  # same prompt, seed and settings: the same video, so it is made once
        logger.warning("%s an earlier one and made once (one --seed makes the same video again); for other "
                       "samples of a prompt run again with another --seed",
                       counted(len(schedules) - len(unique), "prompt repeats", "prompts repeat"))
        schedules = unique
    stems = api.schedule_stems(schedules, config.run.seed)
    # Check every existing output before any work: another method / length / --set never counts as done.
    done = {stem for stem in stems if not args.overwrite and results.is_done(out, stem, settings)}
    progress = ProgressLine(total=len(schedules) - len(done))  # the work to do: the kept videos are no work
    try:
        for schedule, stem in zip(schedules, stems):
            if stem in done:
                print(f"skip   {shorten(stem, 80)} (done with these settings; --overwrite to redo)")
                continue
            _generate_one(search, config, schedule, stem, out, settings, progress)
    finally:
        finished = results.finished_results(out)
        if finished or (out / results.PROMPT_FILE).exists():  # no empty map where nothing was ever finished
            results.write_prompt_file(out, finished)
    return 0


def _generate_one(search, config, schedule: PromptSchedule, stem: str, out: Path, settings: dict,
                  progress: ProgressLine) -> None:
    start = time.perf_counter()
    result = search.run(schedule, config.run.num_frames, config.run.seed, progress=config.run.progress)
    seconds = time.perf_counter() - start
    final = result.trace.final
    score = final.scores[result.chosen]
    with results.whole_or_none(out, stem):
        paths = api.save_result(result, out, stem)
        results.write_result(out, stem, {
            "stem": stem, "video": paths["video"].name, "prompt": schedule.text(), "eval_prompt": schedule.text(),
            "segments": schedule.to_list(), "seed": config.run.seed, "seconds": seconds,
            # the chosen video's final score and its parts, as the trace's "final" holds them (null: no reward)
            "video_reward": score,
            "video_reward_parts": {name: values[result.chosen] for name, values in final.parts.items()},
            "fingerprint": fingerprint(settings), "settings": settings})
    best = f", video reward {score:.3f}" if score is not None else ""
    print(f"wrote  {paths['video']} ({result.frames.shape[0]} frames{best})")
    print(progress.finish(shorten(stem), seconds))


def _schedules(args: argparse.Namespace) -> list[PromptSchedule]:
    """The prompt schedules of ``--prompt``/``--switch-at`` or ``--prompts-file``."""
    switch_at = [frame for value in args.switch_at for frame in parse_switch_frames(value, "--switch-at")]
    if args.prompts_file is not None:
        return read_schedules(args.prompts_file, switch_at)
    return [from_switches(args.prompt, switch_at, "--switch-at")]


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="run methods on the Sprites eval prompts and tabulate metrics",
                       formatter_class=HelpFormatter)
    p.add_argument("--methods", default=None,
                   help=f"comma-separated presets (see `streamt1 methods`; default {DEFAULT_EVAL_METHODS}, with "
                        "--merge every method in the folders); `none` is the baseline of the paired differences")
    p.add_argument("--num-prompts", type=int, default=None,
                   help="Sprites evaluation prompts to use (default 32, the held-out ones; beyond 32 they come "
                        "from the tuning split the defaults were chosen on; with --merge: the folders' own)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--length", choices=tuple(LENGTHS), default=None,
                        help="named video length: 5s (81 latent frames, default) or 30s (480, the paper's "
                             "long setting)")
    length.add_argument("--num-frames", type=int, default=None,
                        help=f"latent frames per video (Sprites: one video frame each at {SPRITES_FPS} fps)")
    p.add_argument("--seeds", default=None,
                   help="comma-separated seeds per prompt (default 0,1; with --merge: the folders' own)")
    p.add_argument("--out", default="runs/eval", help="folder for videos, results.json and table.md")
    p.add_argument("--no-videos", action="store_true", help="keep the scores only, write no MP4s")
    p.add_argument("--traces", action="store_true",
                   help="with --no-videos: still write each video's search trace, OUT/<method>/<video>.trace.json "
                        "(~150 kB per 10 s of Stream-T1; with --workers under OUT/parts/; videos are always "
                        "written with their traces)")
    p.add_argument("--weights", default=None, help="Sprites weights folder (default: built-in)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda ...")
    _add_reward_flags(p)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting for every method, e.g. --set search.fusion=zscore (the plain baseline "
                        "`none` keeps the search width and units its preset pins)")
    p.add_argument("--switches", action="store_true",
                   help="two-prompt streams with a scripted switch mid-video (streamt1.evaluate_switch)")
    p.add_argument("--workers", type=int, default=1,
                   help="evaluate in this many processes at once, one per method and seed (a small model keeps "
                        "a GPU far from busy), each into OUT/parts/, then merge them into OUT; rerun to resume")
    p.add_argument("--overwrite", action="store_true",
                   help="make the asked methods' videos again, discarding their earlier videos and scores in --out "
                        "(other methods there are kept; default: resume)")
    p.add_argument("--merge", nargs="+", default=None, metavar="DIR",
                   help="no generation: union the results.json of these evaluate folders (same settings per "
                        "method) into --out and tabulate them; loads no model")


def _evaluate(args: argparse.Namespace) -> int:
    asked_frames = (check_length("--num-frames", args.num_frames) if args.num_frames is not None
                    else LENGTHS.get(args.length))
    methods = _method_list(args.methods) if args.methods is not None else None
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    refuse_owned_settings(args.overrides, {"seed": "--seeds", "out": "--out"}, "evaluate")
    if args.num_prompts is not None and args.num_prompts < 1:
        raise ConfigError(f"--num-prompts={args.num_prompts} is invalid: expected an integer >= 1")
    if args.workers < 1:
        raise ConfigError(f"--workers={args.workers} is invalid: expected an integer >= 1")
    if args.traces and not args.no_videos and args.merge is None:
        raise ConfigError("--traces keeps the search traces of a --no-videos run; without --no-videos every "
                          "video is written with its trace already: drop --traces or add --no-videos")
    if args.overwrite and args.merge is not None:
        raise ConfigError("--overwrite makes videos again, --merge makes none: leave --overwrite out (a merge "
                          "replaces --out's table with the folders' results)")
    _check_devices(args)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # torchrun would run every video in every process
        raise ConfigError("`streamt1 evaluate` runs as one process: for several, use --workers N (one process per "
                          "method and seed, merged at the end), not torchrun")
    check_writable_folder(args.out)  # every branch below writes there
    if not args.no_videos and args.merge is None:
        require_pyav(" (or pass --no-videos to keep the scores only)")
    with folder_lock(args.out, "`streamt1 evaluate`", "run into another --out and combine the folders with --merge",
                     owner="evaluate"):
        return _evaluate_into_out(args, methods, seeds, asked_frames)


def _evaluate_into_out(args: argparse.Namespace, methods: tuple[str, ...] | None, seeds: tuple[int, ...] | None,
                       asked_frames: int | None) -> int:
    """``streamt1 evaluate``'s work, its flags checked and ``--out`` held (one writer per results.json)."""
    from streamt1.evaluate import TABLE_FILE as EVAL_TABLE_FILE
    from streamt1.evaluate import EvalSettings, run_evaluation
    from streamt1.evaluate_switch import TABLE_FILE, SwitchSettings, run_switch_evaluation

    if args.merge is not None:
        return _merge_evaluations(args, methods, seeds, asked_frames)
    args.num_prompts = EvalSettings.num_prompts if args.num_prompts is None else args.num_prompts
    seeds = seeds or EvalSettings.seeds
    num_frames = chosen_frames(asked_frames, args.overrides, LENGTHS["5s"])
    methods = methods or _method_list(DEFAULT_EVAL_METHODS)

    @functools.cache  # built once per method: its warnings (what a shared --set leaves out) are said once
    def make_config(method: str):
        return build_config(method, None, shared_overrides(method, args.overrides), rewards=_reward_flags(args),
                            num_frames=num_frames, weights=args.weights, device=args.device, backend="sprites")

    configs = [make_config(m) for m in methods]  # validates every method before any work
    if args.workers > 1:
        if args.switches:
            raise ConfigError("--workers splits `streamt1 evaluate` by method and seed; run --switches in one process")
        on_cpu = resolve_device(configs[0].run.device).type == "cpu"
        return _evaluate_in_workers(args, methods, seeds, num_frames, on_cpu)
    # what the methods call, and the video reward for the table
    kinds = sorted({"video", *(kind for config in configs for kind in config.search.rewards_needed())})
    components = api.load_components(configs[0], reward_kinds=kinds)  # checks the length too
    if args.switches:
        switches = SwitchSettings(methods=methods, num_prompts=args.num_prompts, num_frames=num_frames,
                                  seeds=seeds, save_videos=not args.no_videos, save_traces=args.traces)
        run_switch_evaluation(switches, make_config, args.out, components, progress=print, weights=args.weights,
                              overwrite=args.overwrite)
        print((Path(args.out) / TABLE_FILE).read_text())
        return 0
    settings = EvalSettings(methods=methods, num_prompts=args.num_prompts, num_frames=num_frames, seeds=seeds,
                            save_videos=not args.no_videos, save_traces=args.traces)
    run_evaluation(settings, make_config, args.out, components, progress=print, weights=args.weights,
                   overwrite=args.overwrite)
    print((Path(args.out) / EVAL_TABLE_FILE).read_text())
    return 0


def _method_list(text: str) -> tuple[str, ...]:
    methods = tuple(m.strip() for m in text.split(",") if m.strip())
    if not methods:  # else an empty list would fall back to the default methods
        raise ConfigError(f"--methods {text!r} names no method: give comma-separated presets from `streamt1 methods`")
    if len(set(methods)) != len(methods):
        raise ConfigError(f"--methods {text!r} repeats a method; a method makes the same videos again: give each once")
    return methods


def _evaluate_in_workers(args: argparse.Namespace, methods: tuple[str, ...], seeds: tuple[int, ...],
                         num_frames: int, on_cpu: bool) -> int:
    """``evaluate --workers N``: every method x seed in its own ``streamt1 evaluate`` process (at most N at
    once) into ``OUT/parts/<method>-seed<seed>``, then ``--merge`` of them into ``OUT``. Each video depends
    only on its prompt, seed and settings, so the table equals one process's."""
    from concurrent.futures import ThreadPoolExecutor

    out = Path(args.out)
    shared = ["--num-prompts", str(args.num_prompts), "--num-frames", str(num_frames)]
    shared += ["--no-videos"] * args.no_videos + ["--traces"] * args.traces + ["--overwrite"] * args.overwrite
    shared += ["--offload-rewards"] * bool(args.offload_rewards)
    for flag, value in (("--weights", args.weights), ("--device", args.device), ("--image-reward", args.image_reward),
                        ("--video-reward", args.video_reward), ("--reward-device", args.reward_device)):
        shared += [flag, value] if value is not None else []
    for override in args.overrides:
        shared += ["--set", override]
    jobs = {out / "parts" / f"{method}-seed{seed}": ["--methods", method, "--seeds", str(seed)]
            for method in methods for seed in seeds}
    if args.overwrite:  # else the merge would meet OUT's earlier rows of these methods
        from streamt1.evaluate import RESULTS_FILE, TABLE_FILE, forget_methods, load_results

        earlier = load_results(out)  # the world row stays (it covers the other rows) unless the parts remake it
        forget_methods(earlier, earlier["videos"], methods, out / RESULTS_FILE, out / TABLE_FILE, world=False)

    running: list[subprocess.Popen] = []
    stopping = threading.Event()

    def evaluate(part: Path, job: list[str]) -> bool:
        if stopping.is_set():
            return False
        part.mkdir(parents=True, exist_ok=True)
        with open(part / "evaluate.log", "w") as log:
            command = [sys.executable, "-m", "streamt1", "evaluate", *job, *shared, "--out", str(part)]
            # the parent's thread count (and MKL_DYNAMIC, see streamt1/__init__.py), so each part
            # sums in the order one process would
            env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
            with subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env) as child:
                running.append(child)
                if stopping.is_set():  # the stop came while it started
                    child.terminate()
                code = child.wait()
        # a stop (Ctrl-C, SIGTERM) reaches every part: those are interrupted (and resume), not failed
        stopped = (EXIT_INTERRUPTED, EXIT_TERMINATED, -signal.SIGINT, -signal.SIGTERM)
        state = "done" if code == 0 else "interrupted" if code in stopped else "FAILED"
        print(f"{state:11s} {part.name}", flush=True)
        return code == 0

    print(f"evaluating {len(jobs)} method x seed parts in {args.workers} processes into {out / 'parts'}", flush=True)
    parallel, threads, cores = min(args.workers, len(jobs)), torch.get_num_threads(), os.cpu_count() or 1
    if on_cpu and parallel > 1 and parallel * threads > cores:
        # each part keeps one process's thread count, so that its videos equal one process's
        print(f"note: {parallel} processes x {threads} thread{'s' * (threads > 1)} share {cores} CPU "
              f"core{'s' * (cores > 1)}, which is slower than one process; on a CPU --workers pays off only "
              "with spare cores", flush=True)
    with ThreadPoolExecutor(args.workers) as pool:
        try:
            done = dict(zip(jobs, pool.map(evaluate, jobs, jobs.values())))
        except BaseException:  # stopped: a SIGTERM sent to this process alone must stop the parts too
            stopping.set()
            for child in running:
                if child.poll() is None:
                    child.terminate()
            raise
    failed = [part for part, ok in done.items() if not ok]
    if failed:
        # a part's own one-line error (bad weights, a setting) is the reason: shown, not only pointed to
        errors = {_last_error(part / "evaluate.log") for part in failed} - {""}
        raise ConfigError(f"{len(failed)} of {len(jobs)} parts failed" + (f" ({'; '.join(sorted(errors))})" if errors else "")
                          + f": see {', '.join(str(p / 'evaluate.log') for p in failed)}; after fixing it, rerun "
                          f"the same command{' without --overwrite' * args.overwrite} to resume (finished videos "
                          "are kept)")
    if args.overwrite:  # as one process's --overwrite: OUT's world row goes only if the parts made theirs otherwise
        from streamt1.evaluate import REFERENCE, forget_changed_world, load_results

        world = load_results(next(iter(jobs)))["settings"].get(REFERENCE)
        if world is not None:
            forget_changed_world(load_results(out), world, out)
    return _tabulate_merged(list(jobs), out, methods, args.num_prompts, seeds, num_frames)


def _last_error(log: Path) -> str:
    """The last ``streamt1: error:`` message of a part's log, without its prefix ("" if none), with the
    lines that continue it (a list of missing files: indented, or starting with ``also``)."""
    lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
    starts = [i for i, line in enumerate(lines) if line.startswith("streamt1: error: ")]
    if not starts:
        return ""
    message = [lines[starts[-1]].split("error: ", 1)[1]]
    for line in lines[starts[-1] + 1:]:
        if not line.startswith(("  ", "also ")):
            break
        message.append(line)
    return "\n".join(message)


def _merge_evaluations(args: argparse.Namespace, methods: tuple[str, ...] | None, seeds: tuple[int, ...] | None,
                       asked_frames: int | None) -> int:
    """``evaluate --merge``: tabulate folders evaluated in separate processes, without any model."""
    from streamt1.evaluate import REFERENCE

    if args.switches:
        raise ConfigError("--merge combines `streamt1 evaluate` folders; --switches folders cannot be merged")
    generation_flags = {"--set": args.overrides, "--weights": args.weights, "--image-reward": args.image_reward,
                        "--video-reward": args.video_reward, "--traces": args.traces, "--workers": args.workers != 1}
    ignored = [flag for flag, value in generation_flags.items() if value]
    if ignored:
        raise ConfigError(f"--merge makes no videos, so it would ignore {', '.join(ignored)} (each folder's "
                          "results.json records its settings); leave them out and pick the folders instead")
    if methods is not None and REFERENCE in methods:
        raise ConfigError(f"--methods {args.methods}: `{REFERENCE}` is not a method, it is always the table's "
                          "first row; leave it out")
    folders = list(dict.fromkeys(Path(f).resolve() for f in args.merge))  # each folder once
    return _tabulate_merged(folders, Path(args.out), methods, args.num_prompts, seeds, asked_frames)


def _tabulate_merged(folders: list[Path], out: Path, methods: tuple[str, ...] | None, num_prompts: int | None,
                     seeds: tuple[int, ...] | None, asked_frames: int | None) -> int:
    """Merge evaluation folders into ``out`` and write its table (:func:`streamt1.evaluate.merge_results`).
    ``num_prompts`` and ``seeds`` left None are the folders': the prompts their world row holds, the seeds
    their videos of ``methods`` were made with."""
    from streamt1.evaluate import (REFERENCE, TABLE_FILE, EvalSettings, merge_results, merged_methods,
                                   recorded_num_frames, recorded_seeds, write_results, write_table)

    merged = merge_results(folders, out)
    if REFERENCE not in merged["settings"]:
        raise ConfigError(f"the folders hold no `{REFERENCE}` row; merge folders written by `streamt1 evaluate`")
    methods = methods or merged_methods(merged)
    num_frames = recorded_num_frames(merged, methods)
    made = recorded_seeds(merged, methods)
    if seeds is not None and not set(seeds) & set(made):  # some missing is a merge in progress, all is a typo
        raise ConfigError(f"--seeds {','.join(map(str, seeds))}: the folders hold no video of these seeds (they hold "
                          f"{','.join(map(str, made))}); leave it out to use theirs")
    num_prompts, seeds = num_prompts or len(merged["videos"][REFERENCE]), seeds or made
    if asked_frames is not None and asked_frames != num_frames:
        raise ConfigError(f"--num-frames/--length ask for {asked_frames} latent frames, but the folders' "
                          f"{', '.join(methods)} were run with {num_frames}; leave it out to use theirs")
    settings = EvalSettings(methods=methods, num_prompts=num_prompts, num_frames=num_frames, seeds=seeds,
                            save_videos=False)
    write_results(out, merged)  # only a merge that passed every check: a refused one leaves out as it was
    write_table(merged["videos"], settings, merged["settings"][REFERENCE]["frames"], out)
    print(f"merged {len(folders)} folders into {out / 'results.json'}")
    print((out / TABLE_FILE).read_text())
    return 0


def _add_score(sub: argparse._SubParsersAction) -> None:
    from streamt1.metrics.vbench import AVAILABLE, LONG_MODES

    p = sub.add_parser("score", help="VBench dimensions (and a video reward) for every video of a folder",
                       description="Score every .mp4 below FOLDER; resumable. Shard over GPUs with: "
                                   "torchrun --nproc_per_node N -m streamt1 score FOLDER ...")
    p.add_argument("folder", help="a generate or bench output folder (every .mp4 below it is scored)")
    p.add_argument("--metrics", default=",".join(AVAILABLE),
                   help=f"comma-separated VBench dimensions, or none to score with --video-reward alone "
                        f"(default: all of {','.join(AVAILABLE)})")
    p.add_argument("--long", default="auto", choices=LONG_MODES,
                   help="VBench-Long 2 s clips: auto (videos of 5.0 s or more), on, off")
    p.add_argument("--weights", default=None,
                   help="VBench's weights folder (default: $VBENCH_CACHE_DIR or ~/.cache/vbench)")
    p.add_argument("--out", default=None, help="results folder (default: FOLDER/scores)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ... (auto: cuda:LOCAL_RANK "
                                                    "under torchrun)")
    p.add_argument("--clip-precision", default="vbench", choices=("vbench", "fp32"),
                   help="vbench: CLIP in fp16 on a GPU as VBench runs it; fp32: always fp32")
    p.add_argument("--prompt-file", default=None, help="JSON {video path: prompt} (VBench's --prompt_file)")
    p.add_argument("--video-reward", default=None, metavar="NAME[=PATH]",
                   help="also score with this video reward (see `streamt1 rewards`); PATH: its folder "
                        "(built-in rewards need none). It reads the stored MP4 (lossy, upscaled for Sprites), so "
                        "its numbers are not those generate and evaluate record from the frames in memory (Sprites, "
                        "5 s videos: up to 0.4 apart per video, as much as methods differ): compare them only "
                        "with each other")
    p.add_argument("--overwrite", action="store_true", help="discard earlier results instead of resuming")


def _score(args: argparse.Namespace) -> int:
    from streamt1.distributed import device_for, shard_from_env
    from streamt1.metrics import score, vbench

    settings = score.ScoreSettings(
        dimensions=() if args.metrics.strip() == "none" else tuple(m.strip() for m in args.metrics.split(",")
                                                                    if m.strip()),
        long=args.long,
        video_reward=args.video_reward)
    # the cheap checks first: the folder to score, where the scores go, the prompt file, then the device and
    # the weights
    videos = score.check_folder(args.folder, args.out)
    check_writable_folder(score.out_folder(args.folder, args.out))
    require_pyav()  # to decode the videos
    prompts = score.read_vbench_prompt_file(args.prompt_file)
    score.check_prompts(Path(args.folder), [v.relative_to(args.folder).as_posix() for v in videos], prompts)
    shard = shard_from_env()
    device = resolve_device(device_for(shard, args.device), "--device")
    backbones = vbench.Backbones(args.weights or vbench.default_weights_dir(), device,
                                 clip_half=False if args.clip_precision == "fp32" else None)
    vbench.check_weights(settings.dimensions, backbones.weights_dir)
    reward = score.load_reward(settings, device)
    summary = score.score_folder(args.folder, settings, backbones, out=args.out, prompts=prompts, reward=reward,
                                 overwrite=args.overwrite, shard=shard, progress=print)
    if summary is not None:  # rank 0, after every rank is done
        print((score.out_folder(args.folder, args.out) / score.TABLE_FILE).read_text())
    return 0


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", formatter_class=HelpFormatter,
        help="methods x prompts x seeds on a prompt suite, resumable, shardable with torchrun",
        description="Run every method on every prompt and seed of a suite into <out>/<method>/ "
                    "(VBench names and prompt_file.json), then write report.md / index.html. "
                    "Shard over GPUs with: torchrun --nproc_per_node N -m streamt1 bench ...")
    p.add_argument("--config", default=None, help="a YAML file with these settings as keys "
                   "(suite, methods, seeds, num_frames, limit, out, backend, weights, device, set); "
                   "flags override it")
    p.add_argument("--suite", default=None,
                   help="sprites, vbench, vbench-extended, or a .txt / .jsonl / .json prompts file")
    p.add_argument("--methods", default=None, help="comma-separated presets (default none,stream-t1)")
    p.add_argument("--seeds", default=None, help="comma-separated seeds, one video each per prompt "
                   "(default 0; VBench uses 0,1,2,3,4)")
    p.add_argument("--num-frames", type=int, default=None,
                   help=f"latent frames per video (default 48: {_sprites_seconds(48)})")
    p.add_argument("--limit", type=int, default=None, help="first N prompts of the suite (default all)")
    p.add_argument("--out", default=None, help="results folder (default runs/bench)")
    p.add_argument("--backend", default=None, choices=backend_names(), help="generator (default sprites)")
    p.add_argument("--weights", default=None, help="folder with the backend's local weights")
    p.add_argument("--device", default=None,
                   help="auto, cpu, cuda ... (default auto: cuda:LOCAL_RANK under torchrun)")
    p.add_argument("--set", dest="overrides", action="append", default=None, metavar="KEY=VALUE",
                   help="override a setting for every method, e.g. --set search.tau=0.3 (repeatable; the plain "
                        "baseline `none` keeps the search width and units its preset pins)")
    p.add_argument("--report", action="store_true",
                   help="only merge the results already in --out into report.md / index.html")
    p.add_argument("--overwrite", action="store_true",
                   help="make the videos of these methods again instead of resuming (their folders in --out "
                        "are emptied first; other methods' folders stay)")


def _bench(args: argparse.Namespace) -> int:
    from streamt1.bench import bench_out, bench_settings, run_bench
    from streamt1.distributed import shard_from_env
    from streamt1.outputs.bench_report import write_report

    if args.report:
        if args.overwrite:
            raise ConfigError("--report makes no videos, --overwrite makes them again: leave one out")
        out = Path(bench_out(args.config, args.out))
        if not (out / results.SETTINGS_FILE).is_file():
            raise FileNotFoundError(f"{out} holds no bench results: pass the --out of a bench run")
        print(write_report(out).read_text(encoding="utf-8"))
        return 0
    settings = bench_settings(args.config, suite=args.suite, methods=args.methods, seeds=args.seeds,
                              num_frames=args.num_frames, limit=args.limit, out=args.out,
                              backend=args.backend, weights=args.weights, device=args.device,
                              set=args.overrides)
    _check_devices(args)
    check_writable_folder(settings.out)  # before any model loads
    check_owner(settings.out, "bench")
    require_pyav()
    shard = shard_from_env()
    report = run_bench(settings, shard, progress=print, overwrite=args.overwrite)
    if report is not None:
        print(report.read_text(encoding="utf-8"))
        print(f"videos, traces and index.html in {settings.out}")
    return 0


SPRITES_SCRIPTS = {  # `streamt1 sprites WHAT` -> the module whose main() it runs, and what it does
    "train": ("streamt1.sprites.train", "train the video model"),
    "train-codec": ("streamt1.sprites.train_codec", "train the learned latent the video model is trained on"),
    "train-rewards": ("streamt1.sprites.train_rewards", "train the image and video rewards"),
    "record-siblings": ("streamt1.sprites.siblings", "record the search's own candidates, ranked by the ground truth"),
    "rank-rewards": ("streamt1.sprites.rank_rewards", "fine-tune the rewards on recorded siblings"),
    "train-track-reward": ("streamt1.sprites.train_track_reward", "train the object-centric track reward"),
}


def _add_sprites(sub: argparse._SubParsersAction) -> None:
    width = max(map(len, SPRITES_SCRIPTS)) + 2
    listing = "\n".join(f"  {what:{width}s}{text}" for what, (_, text) in SPRITES_SCRIPTS.items())
    p = sub.add_parser("sprites", help="train the Sprites world's video model or rewards (GPU advised)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog=f"subcommands:\n{listing}\n\n`streamt1 sprites WHAT --help` lists the options of one.")
    # optional here, so that a bare `streamt1 sprites` gets the listing in _sprites rather than argparse's
    # "required: what, args"
    p.add_argument("what", nargs="?", choices=tuple(SPRITES_SCRIPTS), help="the subcommand (listed below)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the subcommand (see WHAT --help)")


def _sprites(args: argparse.Namespace) -> int:
    if args.what is None:
        raise ConfigError(f"`streamt1 sprites` needs a subcommand: {', '.join(SPRITES_SCRIPTS)} "
                          "(`streamt1 sprites --help` says what each does)")
    module, _ = SPRITES_SCRIPTS[args.what]
    # their step logs are the progress of a long run: shown without --verbose (their own basicConfig is a
    # no-op once the CLI has configured logging)
    logging.getLogger("streamt1.sprites").setLevel(logging.INFO)
    importlib.import_module(module).main(args.args, prog=f"streamt1 sprites {args.what}")
    return 0


def _add_config(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="print every setting of a method as YAML (edit it, pass it back with --config)",
                       formatter_class=HelpFormatter)
    p.add_argument("--method", default=None, help="the preset (`streamt1 methods`; default stream-t1)")
    p.add_argument("--config", default=None, help="a YAML file of settings to start from")
    p.add_argument("--backend", default=None, choices=backend_names(),
                   help="the backend whose search defaults apply (default: sprites)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, as generate's --set (repeatable)")


def _config(args: argparse.Namespace) -> int:
    config = build_config(args.method, args.config, args.overrides, backend=args.backend)
    print(f"# every setting of {config.method} with the {config.run.backend} backend's search defaults "
          f"(`streamt1 config --backend B` for another backend's)")
    print(dump_yaml(config.to_dict()), end="")
    return 0


def _methods(_: argparse.Namespace) -> int:
    for name, description in available_methods().items():
        print(f"{name:22s} {description}")
    return 0


def _rewards(_: argparse.Namespace) -> int:
    width = max(len(name) for name in REWARDS)
    pad = width + 8  # the name and kind columns
    for entry in REWARDS.values():
        where = "WEIGHTS" if entry.folder == "." else f"WEIGHTS/{entry.folder}"
        tree = entry.tree.replace("<folder>", where).rstrip().splitlines()
        print(f"{entry.name:{width}s} {entry.kind:6s} {entry.description}")
        print(f"{'':{pad}s}files: {tree[0]}" + "".join(f"\n{'':{pad + 7}s}{line}" for line in tree[1:]))
        print(f"{'':{pad}s}published: " + f"\n{'':{pad + 11}s}".join(entry.published))
        print(f"{'':{pad}s}licence: {entry.license}")
    print("\ndefaults (--image-reward / --video-reward override them):")
    for backend in BACKENDS.values():
        defaults = ", ".join(f"{kind} {name}" for kind, name in backend.default_rewards.items()) or "none"
        print(f"  --backend {backend.name:13s} {defaults}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamt1", description="Test-time scaling for streaming video generation.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"streamt1 {__version__} (torch {torch.__version__})")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_generate(sub)
    _add_evaluate(sub)
    _add_score(sub)
    _add_bench(sub)
    _add_sprites(sub)
    _add_config(sub)
    sub.add_parser("methods", help="list the method presets")
    sub.add_parser("rewards", help="list the reward models, their files and where they are published")
    return parser


COMMANDS = {"generate": _generate, "evaluate": _evaluate, "score": _score, "bench": _bench,
            "sprites": _sprites, "config": _config, "methods": _methods, "rewards": _rewards}


def _configure_logging(verbose: bool, main_rank: bool) -> None:
    """Our warnings by default, everything with -v; third-party chatter only with -v; other
    torchrun ranks log errors only, so N processes do not print N copies."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.ERROR)
    if not main_rank:
        logging.getLogger().setLevel(logging.ERROR)


def _what_is_kept(args: argparse.Namespace) -> str:
    """What a stopped command keeps and how to go on (a rerun with --overwrite would discard it again)."""
    if args.command in INTERRUPTED:
        return INTERRUPTED[args.command]
    again = " without --overwrite" if getattr(args, "overwrite", False) else ""
    return f"every video finished before the stop is kept - rerun the same command{again} to resume"


def _out_of_memory_advice(args: argparse.Namespace) -> str:
    """What a command that ran out of GPU memory keeps, and the settings that make it fit, whichever of the
    generator and the rewards (loading or running) filled the GPU."""
    if args.command == "score":
        return ("every video scored before it is kept; free the GPU or pick another with --device, then rerun the "
                "same command to resume")
    if args.command == "sprites":
        return "lower --batch-size (what the run saved before is in --out; continue from it with --init)"
    if args.command not in ("generate", "evaluate", "bench"):
        return "free the GPU or pick another with --device"
    return ("finished videos are kept. To fit, lower --set search.max_batch (candidates per forward) for the "
            "generator; for the rewards, --set rewards.max_batch=N (frames or clips per forward), --offload-rewards "
            "(on the CPU between calls) or --reward-device cuda:1 (another GPU). These only bound memory: rerun the "
            "same command with them to resume. A smaller search (search.histories / search.expansions) makes other "
            "videos: run it into another --out.")


class Terminated(KeyboardInterrupt):
    """SIGTERM, stopped as Ctrl-C is: the video in progress is dropped, finished ones are kept and said so."""


def _raise_terminated(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM while we stop ends the process
    raise Terminated


def _catch_sigterm() -> Any:
    """Install :func:`_raise_terminated` and return the handler to restore, or None where Python runs no
    handler (another thread) or SIGTERM is ignored (as ``nohup``-like parents set it) or not Python's."""
    if threading.current_thread() is not threading.main_thread():
        return None
    earlier = signal.getsignal(signal.SIGTERM)
    if earlier is signal.SIG_IGN or earlier is None:
        return None
    signal.signal(signal.SIGTERM, _raise_terminated)
    return earlier


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    main_rank = os.environ.get("RANK", "0") == "0"
    _configure_logging(args.verbose, main_rank)
    earlier_handler = _catch_sigterm()
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # inside the try: a reader that left shows here, not as an error at exit
        return code
    except (ConfigError, ValueError, FileNotFoundError, NotADirectoryError, PyAVMissing) as err:
        print(f"streamt1: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except torch.cuda.OutOfMemoryError:
        print(f"streamt1: error: out of GPU memory; {_out_of_memory_advice(args)}", file=sys.stderr)
        return EXIT_OUT_OF_MEMORY
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, Terminated)
        if main_rank:
            print(f"\nstreamt1: {'terminated' if terminated else 'interrupted'}; {_what_is_kept(args)}",
                  file=sys.stderr)  # on a line of its own, also after a progress bar
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except BrokenPipeError:  # a reader such as `| head` closed our output: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return EXIT_BROKEN_PIPE
    except OSError as err:
        if err.errno not in FULL_OR_FORBIDDEN:
            raise
        out = getattr(args, "out", None)
        where = f" at {err.filename}" if err.filename else f" (writing into {out})" if out else ""
        remedy = ("free space there or pass another --out" if err.errno in (errno.ENOSPC, errno.EDQUOT)
                  else "give this process access to it, or pass another --out or file")
        print(f"streamt1: error: {err.strerror}{where}: {remedy}; {_what_is_kept(args)}",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        if earlier_handler is not None:
            signal.signal(signal.SIGTERM, earlier_handler)


if __name__ == "__main__":
    sys.exit(main())
