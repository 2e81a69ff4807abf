"""Quality per compute on the Sprites evaluation: plain generation, Stream-T1 and Stream-T1 + early pruning.

Every method runs on the same held-out prompts and seeds (CPU, committed weights). Per video it
records the analytic ground-truth metrics (``streamt1.metrics.sprites``) and the generator's
candidate forwards (one forward of one candidate chunk = 1; the clean commit passes included).
Prints each metric's mean with its 95 % interval, the paired difference between every two methods
(same prompts and seeds), and writes a plot of metric against forwards per video.

    OMP_NUM_THREADS=1 python benchmarks/early_pruning_sprites.py --prompts 16 --num-frames 24 \
        --methods none,stream-t1,stream-t1-early,stream-t1+expansions=4 --out benchmarks/logs/early_pruning
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from statistics import fmean

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from streamt1 import api
from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import METRIC_NAMES, evaluate_video
from streamt1.metrics.stats import mean_ci, paired_difference
from streamt1.outputs.atomic import atomic_write_json

METHODS = ("none", "stream-t1", "stream-t1-early")


class ForwardCounter:
    """Wraps ``model.forward_chunk``: counts candidate-chunk forwards (the batch size of each call)."""

    def __init__(self, model) -> None:
        self.inner, self.count = model.forward_chunk, 0
        model.forward_chunk = self

    def __call__(self, x, *args, **kwargs):
        self.count += x.shape[0]
        return self.inner(x, *args, **kwargs)


def method_config(method: str, num_frames: int):
    """A preset, optionally with search settings changed: ``stream-t1+expansions=4``."""
    name, *changes = method.split("+")
    return build_config(name, device="cpu", num_frames=num_frames, overrides=[f"search.{c}" for c in changes])


def run_all(methods, prompts, seeds, num_frames, out: Path) -> dict:
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    components = api.load_components(build_config("stream-t1", device="cpu"))
    counter = ForwardCounter(components.generator.model)
    searches = {m: api.make_search(method_config(m, num_frames), components) for m in methods}
    for prompt in prompts:  # every method on one prompt before the next: a cut-short run stays paired
        for seed in seeds:
            stem = api.output_stem(prompt, seed)
            for method, search in searches.items():
                done = results.setdefault(method, {})
                if stem in done:
                    continue
                counter.count = 0
                result = search.run(prompt, num_frames, seed, progress=False)
                scores = evaluate_video(result.frames.float() / 255, prompt, fps=result.fps)
                done[stem] = {**scores, "forwards": counter.count}
                atomic_write_json(results_path, results)  # resume point
                logging.info("%-16s %s", method, stem[:60])
    return results


def report(results: dict, methods, out: Path) -> None:
    metrics = [*METRIC_NAMES, "mean"]
    for videos in results.values():
        for row in videos.values():
            row["mean"] = fmean(row[m] for m in METRIC_NAMES)
    header = "| method | forwards / video | " + " | ".join(m.replace("_", " ") for m in metrics) + " |"
    print(header + "\n|" + "---|" * (len(metrics) + 2))
    common = set.intersection(*(set(results[m]) for m in methods))  # only videos every method made
    results = {m: {k: v for k, v in results[m].items() if k in common} for m in methods}
    for method in methods:
        rows = results[method]
        cells = [mean_ci([r[m] for r in rows.values()]).format(100) for m in metrics]
        print(f"| {method} | {fmean(r['forwards'] for r in rows.values()):.0f} | " + " | ".join(cells) + " |")
    for i, base in enumerate(methods):
        for method in methods[i + 1:]:
            diffs = [paired_difference({k: v[m] for k, v in results[method].items()},
                                       {k: v[m] for k, v in results[base].items()}).format(100) for m in metrics]
            print(f"| {method} - {base} (paired) | | " + " | ".join(diffs) + " |")
    plot(results, methods, metrics, out / "quality_per_compute.png")


def plot(results: dict, methods, metrics, path: Path) -> None:
    columns = 3
    rows_of_plots = -(-len(metrics) // columns)
    figure = Figure(figsize=(3.6 * columns, 3.0 * rows_of_plots), layout="constrained")
    for ax, metric in zip(figure.subplots(rows_of_plots, columns).flat, metrics):
        for method in methods:
            rows = results[method].values()
            est = mean_ci([r[metric] for r in rows])
            ax.errorbar(fmean(r["forwards"] for r in rows), 100 * est.mean, yerr=100 * est.half_width,
                        fmt="o", capsize=3, label=method)
        ax.set_title(metric.replace("_", " ") + " (%)", fontsize=9)
        ax.set_xlabel("generator forwards / video")
    figure.axes[0].legend(fontsize=7)
    FigureCanvasAgg(figure).print_png(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--offset", type=int, default=0,
                        help="skip this many held-out prompts (32: the tuning split, not the reported one)")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--num-frames", type=int, default=24, help="latent frames (= frames here)")
    parser.add_argument("--out", default="benchmarks/logs/early_pruning")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    methods = [m.strip() for m in args.methods.split(",")]
    prompts = eval_prompts(args.offset + args.prompts, args.num_frames)[args.offset:]
    seeds = [int(s) for s in args.seeds.split(",")]
    results = run_all(methods, prompts, seeds, args.num_frames, out)
    report(results, methods, out)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
