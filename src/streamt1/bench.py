"""``streamt1 bench``: methods x prompts x seeds, resumable, sharded over processes, VBench layout.

Each method gets its own folder of ``<name>-<seed>.mp4`` videos (see ``streamt1.outputs.naming``)
with traces, search-tree plots, one ``.result.json`` per video (metrics, compute, settings
fingerprint; written last) and VBench's ``prompt_file.json``. Work items are (prompt, seed) pairs
dealt round-robin to the ranks; a video's noise depends only on its seed (the seed is its VBench
index), never on the rank, so any number of processes makes the same videos. After every rank is
done, rank 0 writes the merged report (``streamt1.outputs.bench_report``). Rows pair video for video, so a
folder holds one suite, video length and size (:func:`check_folder`); videos are keyed by prompt, so a suite
file that gains prompts resumes and makes only the new ones.
"""

from __future__ import annotations

import logging
import re
import resource
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
import yaml

from streamt1 import api
from streamt1.config import (Config, ConfigError, build_config, chosen_frames, parse_seeds, read_yaml,
                             refuse_owned_settings, shared_overrides)
from streamt1.devices import resolve_device
from streamt1.distributed import Shard, device_for, process_group, wait_for_all_ranks
from streamt1.outputs import results
from streamt1.outputs.lock import claim_owner
from streamt1.outputs.atomic import atomic_write_json
from streamt1.outputs.fingerprint import fingerprint
from streamt1.outputs.bench_report import (method_folders, record_plan, recorded_suite, row_settings, shared_settings,
                                          write_report)
from streamt1.outputs.naming import prompt_names, video_stem
from streamt1.outputs.progress import ProgressLine, shorten
from streamt1.schedule import where_in_file
from streamt1.suggest import unknown_keys
from streamt1.suites import SUITES, PromptItem, Suite, load_suite

logger = logging.getLogger(__name__)

DEFAULT_OUT = "runs/bench"


@dataclass(frozen=True)
class MethodSpec:
    """One row of the table: a folder name, the preset it starts from and its own overrides."""

    name: str
    method: str
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class BenchSettings:
    suite: str
    methods: tuple[MethodSpec, ...]
    seeds: tuple[int, ...] = (0,)
    num_frames: int = 48
    limit: int | None = None
    out: str = DEFAULT_OUT
    backend: str | None = None
    weights: str | None = None
    device: str | None = None
    overrides: tuple[str, ...] = ()  # --set for every method

    def __post_init__(self) -> None:
        if not self.methods:
            raise ConfigError("--methods is empty: name at least one method (see `streamt1 methods`)")
        names = [m.name for m in self.methods]
        if len(set(names)) != len(names):
            raise ConfigError(f"methods {names} repeat a name: give each row its own name")
        parse_seeds(list(self.seeds))  # settings made in Python keep the flags' rule


@dataclass(frozen=True)
class BenchItem:
    """One video of one method: a prompt of the suite with one seed."""

    prompt: PromptItem
    name: str  # the prompt's file name (see streamt1.outputs.naming)
    seed: int

    @property
    def stem(self) -> str:
        return video_stem(self.name, self.seed)


ROW_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")  # a folder under --out: no path, no space


def _method_spec(entry: Any) -> MethodSpec:
    if isinstance(entry, str):
        spec = MethodSpec(name=entry.strip(), method=entry.strip())
    elif isinstance(entry, Mapping) and isinstance(entry.get("method", entry.get("name")), str):
        method = entry.get("method", entry.get("name"))
        overrides = set_items(entry.get("set"), f"method entry {dict(entry)}")
        spec = MethodSpec(name=str(entry.get("name", method)), method=method, overrides=overrides)
    else:
        raise ConfigError(f"method entry {entry!r} must be a preset name or a mapping "
                          "{name: ..., method: <preset>, set: [key=value, ...]}")
    if spec.name and not ROW_NAME.fullmatch(spec.name):
        raise ConfigError(f"row name {spec.name!r} is invalid: it names the row's folder under --out, so write it with "
                          "letters, digits and . _ + - only, starting with a letter or digit (e.g. st1-tau0.2)")
    return spec


def set_items(value: Any, where: str) -> tuple[str, ...]:
    """A settings file's ``set``, written as a list of ``key=value`` strings (as ``--set`` takes them) or as a
    mapping ``{key: value}``, as ``key=value`` strings (each value written as YAML, so it reads back as it was)."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return tuple(f"{key}={_as_yaml(item)}" for key, item in value.items())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ConfigError(f"{where} has 'set: {value!r}': write it as a list of key=value strings "
                      "([search.tau=0.2]) or as a mapping ({search.tau: 0.2})")


def _as_yaml(value: Any) -> str:
    """One value as a one-line YAML scalar or flow collection (``.inf``, ``'yes'``, ``[3, 4]``)."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).removesuffix("\n...\n").strip()


_FILE_KEYS = ("suite", "methods", "seeds", "num_frames", "limit", "out", "backend", "weights", "device", "set")


def _settings_data(config_file: str | None, flags: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The settings file's keys (checked) with the given flags on top, and how to name the file."""
    data = read_yaml(config_file) if config_file else {}
    where = config_file or "the settings"
    if {"search", "run"} & set(data) and not {"suite", "methods"} & set(data):
        raise ConfigError(f"{where} holds one method's settings (as `streamt1 config` writes them), not bench "
                          f"settings ({', '.join(_FILE_KEYS)}): name it in a method row, e.g. methods: "
                          "[{name: mine, method: beam, set: [search.tau=0.3]}], or pass it to `streamt1 generate "
                          "--config`")
    unknown = unknown_keys(data, _FILE_KEYS)
    if unknown:
        raise ConfigError(f"{unknown} in {where}: expected {', '.join(_FILE_KEYS)}")
    return {**data, **{k: v for k, v in flags.items() if v is not None}}, where


def bench_out(config_file: str | None, out: str | None) -> str:
    """The results folder: ``--out``, else the settings file's ``out:``, else :data:`DEFAULT_OUT`."""
    return str(_settings_data(config_file, {"out": out})[0].get("out", DEFAULT_OUT))


def bench_settings(config_file: str | None = None, **flags: Any) -> BenchSettings:
    """Settings from an optional YAML file (keys as the flags) with explicit flags on top."""
    data, where = _settings_data(config_file, flags)
    if "suite" not in data:
        raise ConfigError("no suite given: use --suite sprites|vbench|vbench-extended|<prompts file>")
    methods = data.get("methods", "none,stream-t1")
    if not isinstance(methods, (str, list)):
        raise ConfigError(f"methods: {methods!r} in {where} is invalid: expected comma-separated presets or a list "
                          "of presets and {name, method, set} rows")
    entries = methods.split(",") if isinstance(methods, str) else methods
    from_flag = flags.get("seeds") is not None
    seeds = parse_seeds(data.get("seeds", (0,)), *(("--seeds", "") if from_flag else ("seeds:", f" in {where}")))
    overrides = set_items(data.get("set"), where)
    specs = tuple(_method_spec(e) for e in entries if e)
    for items in (overrides, *(spec.overrides for spec in specs)):
        refuse_owned_settings(items, {"seed": "--seeds (or seeds: in a settings file)", "out": "--out"}, "bench")
    num_frames, limit = (_count(data, key, where, flags.get(key) is not None) for key in ("num_frames", "limit"))
    return BenchSettings(
        suite=str(data["suite"]), methods=specs,
        seeds=seeds, num_frames=chosen_frames(num_frames, overrides, 48), limit=limit,
        out=str(data.get("out", DEFAULT_OUT)), backend=data.get("backend"), weights=data.get("weights"),
        device=data.get("device"), overrides=overrides,
    )


def _count(data: Mapping[str, Any], key: str, where: str, from_flag: bool) -> int | None:
    """``data[key]`` as an integer >= 1, or None when absent; a bad value is named as it was given."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        given = f"--{key.replace('_', '-')}={value}" if from_flag else f"{key}: {value!r} in {where}"
        raise ConfigError(f"{given} is invalid: expected an integer >= 1")
    return value


def named_items(suite: Suite) -> list[tuple[PromptItem, str]]:
    """Every prompt of ``suite`` with the file name its videos get (see ``streamt1.outputs.naming``)."""
    return list(zip(suite.items, prompt_names([item.eval_prompt for item in suite.items])))


def plan_items(suite: Suite, seeds: Sequence[int]) -> list[BenchItem]:
    """Every (prompt, seed) item in global order: prompt by prompt, seeds within a prompt."""
    return [BenchItem(prompt=item, name=name, seed=seed) for item, name in named_items(suite) for seed in seeds]


@dataclass
class Prepared:
    """Everything validated before any video is made."""

    suite: Suite
    configs: dict[str, Config]
    components: dict[str, api.Components]
    settings: dict[str, dict[str, Any]]  # method name -> run settings (fingerprinted)
    items: list[BenchItem] = field(default_factory=list)


def _components_for(configs: Mapping[str, Config], scored_by: Sequence[str] = ()) -> dict[str, api.Components]:
    """Load each distinct backend once (``search.global_sink`` is part of how a generator is built; the
    sink's limits reach its cache at every commit), with every reward that any method sharing it calls and
    the kinds in ``scored_by`` (what scores the videos)."""
    def key(config: Config) -> tuple:
        return (config.run.backend, config.run.weights, config.search.global_sink)

    kinds: dict[tuple, set[str]] = {}
    for config in configs.values():
        kinds.setdefault(key(config), set(scored_by)).update(config.search.rewards_needed())
    cache: dict[tuple, api.Components] = {}
    loaded = {}
    for name, config in configs.items():
        if key(config) not in cache:
            cache[key(config)] = api.load_components(config, reward_kinds=sorted(kinds[key(config)]))
        loaded[name] = cache[key(config)]
    return loaded


def prepare(settings: BenchSettings, shard: Shard, overwrite: bool = False) -> Prepared:
    """Load the suite, build and check every method's config, load models, claim the folders.
    ``overwrite``: the run's method folders are emptied first (:func:`discard_methods`), after every check."""
    whole = load_suite(settings.suite, None, settings.num_frames)  # read once: the plan records every prompt
    suite = replace(whole, items=whole.items[:settings.limit])
    device = device_for(shard, settings.device)
    configs = {m.name: build_config(m.method, None, [*shared_overrides(m.method, settings.overrides), *m.overrides],
                                    num_frames=settings.num_frames, backend=settings.backend,
                                    weights=settings.weights, device=device, progress=False)
               for m in settings.methods}
    # the Sprites table scores every video with the world's video reward too (as `streamt1 evaluate`), so
    # its reward columns do not depend on which other methods share the run
    sprites = suite.name == "sprites" and all(c.run.backend == "sprites" for c in configs.values())
    components = _components_for(configs, scored_by=("video",) if sprites else ())
    items = plan_items(suite, settings.seeds)
    for name, config in configs.items():
        api.make_search(config, components[name])  # a method that lacks a reward fails here
    first, num_frames = next(iter(components.values())).generator, next(iter(configs.values())).run.num_frames
    try:
        for item in shard.take(items):  # a closed-vocabulary backend rejects unknown words up front
            first.encode_prompt(item.prompt.prompt, num_frames)
    except ValueError as err:
        raise ValueError(f"{err}{_where_in_suite(settings.suite, str(err))}") from None
    out = Path(settings.out)
    run = {name: api.run_settings(config, components[name]) for name, config in configs.items()}
    shared = check_rows(suite.name, run)
    check_folder(out, shared, list(configs), overwrite)
    if overwrite:
        discard_methods(out, list(configs), shard)
    claim_owner(out, "bench")
    atomic_write_json(out / results.SETTINGS_FILE, {"fingerprint": fingerprint(shared), "settings": shared})
    for name, settings_of_method in run.items():
        claim_owner(out / name, "bench")
        results.claim_folder(out / name, settings_of_method)
    record_plan(out, suite.name, len(suite.items), list(settings.seeds), list(configs),
                {name: item.prompt for item, name in named_items(whole)})
    return Prepared(suite=suite, configs=configs, components=components, settings=run, items=items)


def _where_in_suite(suite: str, message: str) -> str:
    """`` (FILE: line N)`` for a prompts file's rejected prompt, as `streamt1 generate --prompts-file` says it
    (its helper, so both locate a line alike); nothing for a built-in suite."""
    return "" if suite in SUITES or not Path(suite).is_file() else where_in_file(suite, message)


def check_rows(suite: str, run: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The settings every row of the folder shares (the suite, and ``bench_report.shared_settings``): one set
    for all of this run's rows (a row's own ``set`` may not change them), returned."""
    shared = {name: {"suite": suite, **shared_settings(made)} for name, made in run.items()}
    (first, theirs), *others = shared.items()
    for name, own in others:
        if own != theirs:
            raise ConfigError(f"rows `{first}` and `{name}` differ in what every row of a bench folder shares "
                              f"({results.settings_diff(theirs, own)}), so their videos would not pair: set it for "
                              "every row (--set, or set: at the top of a settings file), or run them into "
                              "separate --out folders")
    return theirs


def check_folder(out: Path, shared: Mapping[str, Any], methods: Sequence[str], overwrite: bool) -> None:
    """Stop before any work if ``out`` keeps videos made with other shared settings than ``shared``: rows of one
    bench folder pair video for video, so one suite, length and size. ``methods``: this run's rows, whose videos
    do not stay if ``overwrite``. The rows' own settings decide, so folders of older versions are checked too."""
    suite = recorded_suite(out)
    held = [m for m in method_folders(out) if next((out / m).glob(f"*{results.RESULT_SUFFIX}"), None) is not None]
    kept = [m for m in held if not (overwrite and m in methods)]
    differing = {m: {"suite": suite, **shared_settings(row_settings(out, m))} for m in kept}
    differing = {m: made for m, made in differing.items() if made != shared}
    if differing:
        made = next(iter(differing.values()))
        every = ",".join(dict.fromkeys([*held, *methods]))
        raise ConfigError(f"{out} holds videos of {', '.join(f'`{m}`' for m in differing)} made with other settings "
                          f"than every row of a bench folder shares ({results.settings_diff(made, shared)}): use "
                          f"another --out, or --overwrite with every row ({every}: --methods, or the settings file's "
                          "methods) to make them all again")


def discard_methods(out: Path, methods: Sequence[str], shard: Shard) -> None:
    """``bench --overwrite``: the folders of ``methods`` go, so every one of their videos is made again; the
    other methods' folders stay. Rank 0 deletes while the other ranks wait, so none claims a folder
    that is about to go."""
    if shard.is_main:
        for method in methods:
            if (out / method).exists():
                shutil.rmtree(out / method)
    wait_for_all_ranks()


def score_video(suite: str, frames: torch.Tensor, prompt: str, components: api.Components,
                fps: float) -> dict[str, float]:
    """Per-video metrics: the Sprites world's analytic ground truth on its own suite, rewards elsewhere.

    VBench's dimensions come from ``streamt1 score <bench folder>`` afterwards; ``--report`` joins
    them (see ``streamt1.outputs.bench_report.scored_metrics``).
    """
    if suite == "sprites":
        from streamt1.evaluate import score_video as sprites_scores

        return sprites_scores(frames, prompt, components, fps)
    return api.video_reward_columns(frames, prompt, components, fps)


def _peak_memory_mb(device: torch.device) -> float:
    """Peak accelerator memory of this video, or the process's peak resident memory on the CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def compute_of(trace: Any, seconds: float, peak_mb: float) -> dict[str, float]:
    """Per-video compute from the trace's per-chunk calls (final pick included)."""
    calls: dict[str, int] = {}
    for chunk in trace.chunks:
        for key, value in chunk.calls.items():
            calls[key] = calls.get(key, 0) + value
    final_clips = sum(s is not None for s in trace.final.scores) if trace.final is not None else 0
    reward_calls = calls.get("image_reward_frames", 0) + calls.get("video_reward_clips", 0) + final_clips
    return {"generator_forwards": calls.get("generator_forwards", 0), "reward_calls": reward_calls,
            "seconds": seconds, "peak_memory_mb": peak_mb}


def make_video(prep: Prepared, method: str, item: BenchItem, out: Path, shard: Shard) -> dict[str, Any]:
    """Generate, save and score one item; the result record is written last (the resume point)."""
    components, config = prep.components[method], prep.configs[method]
    device = resolve_device(config.run.device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    search = api.make_search(config, components)
    start = time.perf_counter()
    result = search.run(item.prompt.prompt, config.run.num_frames, item.seed, progress=False)
    seconds = time.perf_counter() - start
    folder = out / method
    with results.whole_or_none(folder, item.stem):
        video = api.save_result(result, folder, item.stem)["video"]
        record = {
            "stem": item.stem, "video": video.name, "method": method, "suite": prep.suite.name,
            "prompt": item.prompt.prompt, "eval_prompt": item.prompt.eval_prompt,
            "prompt_index": item.prompt.index, "seed": item.seed,
            "metrics": score_video(prep.suite.name, result.frames, item.prompt.eval_prompt, components, result.fps),
            "compute": compute_of(result.trace, seconds, _peak_memory_mb(device)),
            "rank": shard.rank, "world_size": shard.world_size,
            "fingerprint": fingerprint(prep.settings[method]), "settings": prep.settings[method],
        }
        results.write_result(folder, item.stem, record)
    return record


def run_items(prep: Prepared, out: Path, shard: Shard, progress: Callable[[str], None]) -> int:
    """This rank's share of every method; finished items are skipped. Returns videos made."""
    mine = shard.take(prep.items)
    # every method's finished items first, so that the count and the time left are of the work to do
    finished = {method: {item.stem for item in mine  # keyed by prompt: a suite that gains prompts resumes
                         if results.is_done(out / method, item.stem, prep.settings[method], item.prompt.prompt)}
                for method in prep.configs}
    line = ProgressLine(total=sum(len(mine) - len(done) for done in finished.values()))
    for method, done in finished.items():
        if done and shard.is_main:  # a rerun resumes: say so, or it looks as if nothing happened
            progress(f"{method}: {len(done)} of {len(mine)} videos done earlier, kept"
                     + ("" if shard.world_size == 1 else " (rank 0's share)"))
        for item in mine:
            if item.stem in done:
                continue
            record = make_video(prep, method, item, out, shard)
            message = line.finish(f"{method} {shorten(item.stem)}", record["compute"]["seconds"])
            if shard.is_main:  # its share is 1/W of the run, so its time left is the run's
                progress(message if shard.world_size == 1 else f"rank 0 of {shard.world_size}: {message}")
    return line.done


def run_bench(settings: BenchSettings, shard: Shard | None = None,
              progress: Callable[[str], None] = logger.info, overwrite: bool = False) -> Path | None:
    """Run this rank's items of every method, then (rank 0, once all ranks are done) the report.
    ``overwrite``: make the methods' videos again instead of resuming (:func:`discard_methods`).

    Returns the report's Markdown path on rank 0, None on the other ranks.
    """
    shard = shard or Shard()
    out = Path(settings.out)
    with process_group(shard):
        prep = prepare(settings, shard, overwrite)
        try:
            made = run_items(prep, out, shard, progress)
        finally:
            if shard.is_main:  # also on Ctrl-C; --report refreshes it once every rank has stopped
                write_prompt_files(out, list(prep.configs))
        logger.info("rank %d made %d videos", shard.rank, made)
        wait_for_all_ranks()
        return write_report(out) if shard.is_main else None


def write_prompt_files(out: Path, methods: Sequence[str]) -> None:
    """VBench's ``prompt_file.json`` in every method folder, listing exactly its finished videos."""
    for method in methods:
        results.write_prompt_file(out / method, results.finished_results(out / method))
