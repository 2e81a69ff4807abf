"""The report of a bench folder: the paper-style table, compute per video, a plot and an HTML page.

It reads only what is on disk (every rank's ``.result.json`` records, plus the VBench dimensions
``streamt1 score <bench folder>`` wrote to ``scores/results.json``), so ``streamt1 bench --report`` merges the shards of any
number of processes, and a partial run reports what it has. Metrics are whatever per-video numbers
exist; each gets a mean with its 95 % interval and, against plain generation (the method whose
settings say ``method: none``), the paired difference over the (prompt, seed) items both have. Videos are
keyed by prompt: those of a prompt the suite no longer holds as the latest run read it (its line changed or
went) move to the hidden ``<method>/.stale/`` (:func:`retire_stale`).
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any, Mapping

from streamt1.metrics.stats import SMALL_SAMPLE, Estimate, mean_ci, paired_difference
from streamt1.outputs import results
from streamt1.outputs.atomic import atomic_path, atomic_write_json, atomic_write_text, ensure_folder
from streamt1.outputs.naming import output_paths
from streamt1.outputs.progress import counted

logger = logging.getLogger(__name__)

# What the runs into the folder asked for. Cumulative on purpose: "methods" and "seeds" are the union over every
# run (in first-asked order; "methods" orders the report's rows) and "num_prompts" the most prompts any run asked
# for, so a rerun of some methods, seeds or prompts loses none of the others. It says nothing about which videos
# exist: the report's rows say what each covers (prompts x seeds). "prompts" ({name: prompt}) is the whole suite
# as the latest run read it: what the report counts as the suite's current prompts.
PLAN_FILE = "plan.json"
STALE_DIR = ".stale"  # hidden: `streamt1 score` and VBench never read it
REPORT_MD = "report.md"
REPORT_JSON = "report.json"
COMPUTE_PLOT = "compute.png"
SCORES_FILE = "scores/results.json"  # what `streamt1 score <bench folder>` writes (metrics.score)
COMPUTE_KEYS = ("generator_forwards", "reward_calls", "seconds", "peak_memory_mb")


def read_plan(out: Path) -> dict:
    """What the runs into ``out`` asked for so far (empty lists before the first)."""
    path = out / PLAN_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"methods": [], "seeds": []}


def record_plan(out: Path, suite: str, num_prompts: int, seeds: list[int], methods: list[str],
                prompts: Mapping[str, str]) -> None:
    """Add a run's plan to the folder's: a rerun of some methods or seeds keeps the others and their order.
    ``prompts``: the whole suite (before --limit) as this run read it, file name -> prompt, in suite order."""
    plan = read_plan(out)
    atomic_write_json(out / PLAN_FILE, {
        "suite": suite, "num_prompts": max(num_prompts, plan.get("num_prompts", 0)),
        "seeds": plan["seeds"] + [s for s in seeds if s not in plan["seeds"]],
        "methods": plan["methods"] + [m for m in methods if m not in plan["methods"]],
        "prompts": dict(prompts)})


# The run settings every row of a bench folder shares, so that rows compare video for video (paired by prompt
# and seed): what decides the videos' length, size and frame rate, and the noise a seed draws. `streamt1 bench`
# refuses a run whose rows would differ in them (bench.check_rows, bench.check_folder); the report pairs no rows
# that do (folders of older versions).
SHARED_RUN_KEYS = ("backend", "model", "height", "width", "num_frames")


def shared_settings(method_settings: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a row's settings (as its ``settings.json`` holds them) that every row of a folder shares."""
    run = method_settings.get("run", {})
    return {"run": {key: run.get(key) for key in SHARED_RUN_KEYS}}


def row_settings(out: Path, method: str) -> dict[str, Any]:
    """The settings a method folder's videos were made with (its ``settings.json``)."""
    return json.loads((out / method / results.SETTINGS_FILE).read_text(encoding="utf-8")).get("settings", {})


def method_folders(out: Path) -> list[str]:
    """Method folders in plan order, then any other folder holding a run's settings."""
    planned = read_plan(out)["methods"]
    found = sorted(p.parent.name for p in out.glob(f"*/{results.SETTINGS_FILE}"))
    return [m for m in planned if m in found] + [m for m in found if m not in planned]


def scored_metrics(out: Path) -> dict[str, dict[str, float]]:
    """Per-video numbers of ``streamt1 score <bench folder>`` (``scores/results.json``), keyed by the
    video's path relative to ``out``: VBench dimensions as ``vbench_<dim>``, its reward as ``score_<part>``.
    Only where the file scored is the one on disk (its size, as ``score`` resumes): a video made again since
    (``--overwrite``, a changed prompt) shows as not scored, ``(k of n)``, until ``score`` runs again."""
    path = out / SCORES_FILE
    if not path.is_file():
        return {}
    try:
        videos = json.loads(path.read_text(encoding="utf-8"))["videos"]
        return {key: {**{f"vbench_{dim}": float(s["value"]) for dim, s in v.get("scores", {}).items()},
                      **{f"score_{part}": float(x) for part, x in v.get("reward", {}).items()}}
                for key, v in videos.items() if _size(out / key) == v.get("size")}
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as err:
        logger.warning("%s is not in the layout of `streamt1 score` (%s); its metrics are left out", path, err)
        return {}


def _size(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None


def current_index(record: Mapping[str, Any], positions: Mapping[tuple[str, str], int] | None) -> int | None:
    """The record's position in the suite as the latest run read it (``positions``: :func:`suite_positions`), or
    None where that suite no longer holds its prompt (the line changed or went). Without a recorded suite
    (folders of older versions) every record counts, at its recorded index."""
    if positions is None:
        return record["prompt_index"]
    name = str(record["stem"]).removesuffix(f"-{record['seed']}")
    return positions.get((name, record["prompt"]))


def retire_stale(out: Path) -> dict[str, int]:
    """Move the videos of prompts the suite no longer holds (:func:`current_index`) with their files into the
    hidden ``<method>/.stale/``, so a method folder holds the suite's videos only: VBench's custom input refuses
    videos its prompt file lacks, and ``streamt1 score`` would pool them. Per method, how many moved."""
    positions = suite_positions(out)
    moved: dict[str, int] = {}
    for method in method_folders(out) if positions is not None else ():
        folder = out / method
        for stem, record in results.finished_results(folder).items():
            if current_index(record, positions) is None:
                paths = [*output_paths(folder, stem).values(), results.result_path(folder, stem)]
                for path in (p for p in paths if p.is_file()):
                    os.replace(path, ensure_folder(folder / STALE_DIR) / path.name)
                moved[method] = moved.get(method, 0) + 1
    return moved


def suite_positions(out: Path) -> dict[tuple[str, str], int] | None:
    """(name, prompt) -> position of every prompt of the suite as the latest run read it; None if unrecorded."""
    prompts = read_plan(out).get("prompts")
    return None if prompts is None else {item: i for i, item in enumerate(prompts.items())}


def load_records(out: Path, method: str, scored: dict[str, dict[str, float]] | None = None) -> dict[str, dict]:
    """item key ``<prompt index>:<seed>`` -> record, its metrics joined by any ``streamt1 score`` numbers; only
    the records of the suite's current prompts (:func:`current_index`), at their current index (a line
    inserted above a prompt moves it), so every method's video of one prompt and seed has one key."""
    scored = scored if scored is not None else scored_metrics(out)
    positions = suite_positions(out)
    records = {}
    for record in results.finished_results(out / method).values():
        index = current_index(record, positions)
        if index is None:
            continue
        record["prompt_index"] = index
        record["metrics"] = {**record.get("metrics", {}), **scored.get(f"{method}/{record['video']}", {})}
        records[f"{index}:{record['seed']}"] = record
    return records


def _baseline(settings: Mapping[str, Mapping[str, Any]]) -> str | None:
    return next((method for method, made in settings.items() if made.get("method") == "none"), None)


def coverage(records: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """What a row's videos cover: how many prompts, which seeds, and how many of their pairs are missing."""
    prompts = {r["prompt_index"] for r in records.values()}
    seeds = sorted({r["seed"] for r in records.values()})
    return {"prompts": len(prompts), "seeds": seeds, "missing": len(prompts) * len(seeds) - len(records)}


def _as_dict(est: Estimate) -> dict[str, float | None]:
    """JSON form of an estimate (no interval: ``half_width`` null)."""
    return {"mean": est.mean, "half_width": None if math.isnan(est.half_width) else est.half_width, "n": est.n}


def _column(records: dict[str, dict], section: str, key: str) -> dict[str, float]:
    return {item: float(r[section][key]) for item, r in records.items()
            if r.get(section, {}).get(key) is not None}


def summarise(out: str | Path, records: Mapping[str, dict[str, dict]] | None = None) -> dict[str, Any]:
    """Per method: videos, metric means, paired differences vs the baseline and mean compute (``records``: each
    method's :func:`load_records`, read here if not given)."""
    out = Path(out)
    methods = method_folders(out)
    if records is None:
        scored = scored_metrics(out)
        records = {m: load_records(out, m, scored) for m in methods}
    settings = {m: row_settings(out, m) for m in methods}
    baseline = _baseline(settings)
    metric_names = sorted({k for rs in records.values() for r in rs.values() for k in r.get("metrics", {})})
    summary: dict[str, Any] = {"suite": recorded_suite(out) or "?", "baseline": baseline, "metrics": metric_names,
                               "methods": {}, "retired": {}}
    for method in methods:
        made = shared_settings(settings[method])
        row: dict[str, Any] = {"videos": len(records[method]), **coverage(records[method]), "made_with": made["run"],
                               "metrics": {}, "diff": {}, "compute": {}}
        unpaired = _unpaired(settings, method, baseline)
        if unpaired:
            row["unpaired"] = unpaired
        paired = baseline is not None and method != baseline and not unpaired
        for name in metric_names:
            values = _column(records[method], "metrics", name)
            if values:
                row["metrics"][name] = _as_dict(mean_ci(list(values.values())))
            base = _column(records[baseline], "metrics", name) if paired else {}
            if values and base and set(values) & set(base):
                row["diff"][name] = _as_dict(paired_difference(values, base))
        for key in COMPUTE_KEYS:
            values = _column(records[method], "compute", key)
            if values:
                row["compute"][key] = _as_dict(mean_ci(list(values.values())))
        summary["methods"][method] = row
    return summary


def _unpaired(settings: Mapping[str, Mapping[str, Any]], method: str, baseline: str | None) -> str | None:
    """How ``method``'s videos differ from the baseline's in what rows share, or None where they pair: rows of
    other lengths or sizes are no pairs (folders of older versions; bench refuses to make them)."""
    if baseline is None or method == baseline:
        return None
    base, made = shared_settings(settings[baseline]), shared_settings(settings[method])
    return None if made == base else results.settings_diff(base, made)


def recorded_suite(out: Path) -> str | None:
    """The suite ``out``'s rows were made from (its ``settings.json``), or None."""
    path = out / results.SETTINGS_FILE
    stored = results.read_json(path, f"delete {path} only if every video in {out} is of one suite") \
        if path.is_file() else {}
    return stored.get("settings", {}).get("suite") if isinstance(stored, dict) else None


def format_estimate(est: dict | None, digits: int = 3, signed: bool = False, of: int | None = None,
                    scale: float = 1.0) -> str:
    """``mean ± half-width`` (``*``: a signed interval that excludes 0), and ``(k of n)`` where the
    estimate covers fewer than the row's ``of`` videos; ``scale`` multiplies both (100: percent)."""
    if not est:
        return "-"
    sign = "+" if signed else ""
    text = f"{scale * est['mean']:{sign}.{digits}f}"
    if est["half_width"] is not None:
        text += f" ± {scale * est['half_width']:.{digits}f}"
        if signed and abs(est["mean"]) > est["half_width"]:
            text += " *"
    if of is not None and est.get("n", of) < of:
        text += f" ({est['n']} of {of})"
    return text


# Where each kind of column comes from: said under the summary wherever the kind is in it
COLUMN_SOURCES = (
    ("reward_", "`reward_<part>`: the video reward, recorded by the run from the frames in memory"),
    ("score_", "`score_<part>`: a video reward by `streamt1 score --video-reward` from the stored MP4 (lossy, "
               "and upscaled for Sprites): not comparable with `reward_<part>` (Sprites: up to 0.4 apart per "
               "video), so compare methods within one of the two"),
    ("vbench_", "`vbench_<dimension>`: VBench's dimension by `streamt1 score` from the stored MP4, in %"),
)
GROUND_TRUTH_SOURCE = ("columns without a prefix: the Sprites world's analytic ground truth of each video, in % "
                       "(consistencies as VBench defines them; text alignment = the mean of the `alignment_` "
                       "columns); paired differences in points")


def column_sources(metrics: list[str]) -> list[str]:
    """One line per kind of column in ``metrics``, saying where its numbers come from."""
    prefixes = tuple(prefix for prefix, _ in COLUMN_SOURCES)
    lines = [GROUND_TRUTH_SOURCE] if any(not m.startswith(prefixes) for m in metrics) else []
    return lines + [text for prefix, text in COLUMN_SOURCES if any(m.startswith(prefix) for m in metrics)]


def in_percent(metric: str) -> bool:
    """Ground truth and VBench are fractions shown in % (as `streamt1 evaluate` and VBench show them);
    rewards are raw scores."""
    return not metric.startswith(("reward_", "score_"))


def format_metric(metric: str, est: dict | None, signed: bool = False, of: int | None = None) -> str:
    """An estimate of ``metric`` as the tables show it: % with one decimal, or a raw score with three."""
    percent = in_percent(metric)
    return format_estimate(est, digits=1 if percent else 3, signed=signed, of=of, scale=100.0 if percent else 1.0)


def _header(cols: list[str]) -> list[str]:
    return ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]


def format_coverage(row: Mapping[str, Any]) -> str:
    """``2 prompts x seeds 0,1 (1 missing)``: what a row's videos cover, so a partial row shows as one."""
    seeds = row["seeds"]
    text = (f"{row['prompts']} prompt{'s' if row['prompts'] != 1 else ''} x "
            f"seed{'s' if len(seeds) != 1 else ''} {','.join(map(str, seeds)) or '-'}")
    return text + (f" ({row['missing']} missing)" if row["missing"] else "")


def _made_with(run: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {json.dumps(value)}" for key, value in run.items())


def _settings_lines(summary: dict[str, Any]) -> list[str]:
    """The settings every row shares (the videos' length and size), or each row's where they differ."""
    made = {m: r["made_with"] for m, r in summary["methods"].items()}
    if not made:
        return []
    legend = "(num_frames in latent frames; null: the backend's own)"
    if len({json.dumps(run, sort_keys=True) for run in made.values()}) == 1:
        return [f"Every row's videos: {_made_with(next(iter(made.values())))} {legend}.", ""]
    return ([f"The rows' videos differ in settings rows share (a folder of an older version) {legend}:", ""]
            + [f"* `{m}`: {_made_with(run)}" for m, run in made.items()] + [""])


def markdown(summary: dict[str, Any]) -> str:
    """Three tables: metrics (mean ± 95 % CI), paired differences vs baseline, compute per video."""
    metrics, rows = summary["metrics"], summary["methods"]
    lines = [f"# Bench report: suite `{summary['suite']}`", "",
             "Mean ± half-width of the 95 % Student-t interval over videos; `(k of n)`: the column has k of "
             "the method's n videos (e.g. `streamt1 score` ran before more were made: rerun it).", ""]
    lines += _settings_lines(summary)
    lines += [f"* {text}" for text in column_sources(metrics)] + ([""] if metrics else [])
    lines += _header(["Method", "videos", "prompts x seeds", *metrics])
    lines += ["| " + " | ".join([m, str(r["videos"]), format_coverage(r),
                                 *(format_metric(k, r["metrics"].get(k), of=r["videos"]) for k in metrics)]) + " |"
              for m, r in rows.items()]
    if summary["baseline"]:
        lines += ["", f"Paired difference vs `{summary['baseline']}` (same prompt and seed); "
                  "`*`: the interval excludes 0.", ""]
        lines += _header(["Method", *metrics])
        lines += ["| " + " | ".join([m, *(format_metric(k, r["diff"].get(k), signed=True, of=r["videos"])
                                          for k in metrics)]) + " |"
                  for m, r in rows.items() if m != summary["baseline"]]
        lines += [f"\n`{m}` is not paired: its videos were made with other settings than `{summary['baseline']}`'s "
                  f"({r['unpaired']})." for m, r in rows.items() if "unpaired" in r]
        pairs = [d["n"] for r in rows.values() for d in r["diff"].values()]
        if pairs and min(pairs) < SMALL_SAMPLE:
            lines += ["", f"Only {counted(min(pairs), 'paired video')} in some columns: the intervals assume roughly "
                          "normal differences and are rough this small; more prompts (`--limit`) or seeds "
                          "(`--seeds`) narrow them."]
    if summary["retired"]:
        lines += ["", f"Moved to `<method>/{STALE_DIR}/`: the videos of prompts the suite no longer holds (their line "
                  "changed or went): " + ", ".join(f"`{m}` {n}" for m, n in summary["retired"].items()) + "."]
    lines += ["", "Compute per video: generator forwards = denoising steps x candidates + clean K/V "
              "passes; reward calls = frames and clips scored; seconds = generation wall time; peak "
              "memory = accelerator peak of the video on a GPU, the process's peak RSS on a CPU.", ""]
    lines += _header(["Method", *COMPUTE_KEYS])
    lines += ["| " + " | ".join([m, *(format_estimate(r["compute"].get(k), digits=1) for k in COMPUTE_KEYS)]) + " |"
              for m, r in rows.items()]
    return "\n".join(lines) + "\n"


def headline_metrics(metrics: list[str], limit: int = 8) -> list[str]:
    """The metrics worth a panel: sub-scores (``alignment_*``, reward parts) stay in the tables."""
    detail = [m for m in metrics if m.startswith("alignment_")
              or (m.startswith(("reward_", "score_")) and m not in ("reward_overall", "score_overall"))]
    return [m for m in metrics if m not in detail][:limit]


def plot_metric_vs_compute(summary: dict[str, Any], path: Path, compute_key: str = "generator_forwards") -> None:
    """One panel per headline metric: method means (95 % CI bars) against mean compute per video."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = headline_metrics(summary["metrics"]) or ["(no metrics yet)"]
    cols = min(4, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), squeeze=False)
    for ax in axes.flat[len(metrics):]:
        ax.axis("off")
    for ax, metric in zip(axes.flat, metrics):
        for method, row in summary["methods"].items():
            x, y = row["compute"].get(compute_key), row["metrics"].get(metric)
            if x and y:
                ax.errorbar(x["mean"], y["mean"], yerr=y["half_width"] or 0, fmt="o", capsize=3, label=method)
        ax.set_xlabel(f"{compute_key.replace('_', ' ')} per video")
        ax.set_title(metric, fontsize=9)
        ax.grid(alpha=0.3)
    if axes[0][0].get_legend_handles_labels()[1]:  # no metrics yet (a file suite's plain rows): no legend
        axes[0][0].legend(fontsize=7)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.35, hspace=0.5)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def write_report(out: str | Path) -> Path:
    """Write report.md, report.json, compute.png, index.html and every method's prompt_file.json
    in ``out``; returns report.md."""
    from streamt1.outputs.bench_html import write_html

    out = Path(out)
    retired = retire_stale(out)
    scored = scored_metrics(out)
    records = {m: load_records(out, m, scored) for m in method_folders(out)}
    summary = {**summarise(out, records), "retired": retired}
    for method, items in records.items():  # VBench's prompt file, complete once every shard is in
        results.write_prompt_file(out / method, {r["stem"]: r for r in items.values()})
    atomic_write_json(out / REPORT_JSON, summary)
    atomic_write_text(out / REPORT_MD, markdown(summary))
    plot_metric_vs_compute(summary, out / COMPUTE_PLOT)
    write_html(out, records, summary)
    return out / REPORT_MD
