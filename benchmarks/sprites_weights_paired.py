"""Two or more Sprites weights compared on the same held-out videos: means and paired differences.

    python benchmarks/sprites_weights_paired.py committed=runs/eK0,runs/eK1 new=runs/eN0,runs/eN1
    python benchmarks/sprites_weights_paired.py --common plain=runs/a:none k2=runs/a:stream-t1 k4=runs/b:stream-t1

Each argument names a set of weights and the `streamt1 evaluate` folders (or their results.json) made
with them (e.g. one folder per seed, run in parallel); a method's videos are merged over the folders.
The first set is the baseline: every other set gets, per metric, its mean and the paired difference
against the baseline over the prompts and seeds both have, with 95 % intervals (in %). A set may name
its own preset (``NAME=FOLDER:METHOD``, default ``--method``), so runs of other methods or settings
compare too; ``--common`` keeps only the prompts and seeds every set has; ``--also imaging_quality,...``
adds metrics beyond the columns `streamt1 evaluate` pairs. ``imaging_vs_render`` (lower is better) is each
video's distance from the imaging quality of the world's render of its prompt (the folder's `world` row):
the Sprites renders are flat, so an imaging quality above theirs is no gain.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from streamt1.evaluate import DIFFERENCE_COLUMNS, RESULTS_FILE
from streamt1.metrics.stats import mean_ci, paired_difference
from streamt1.outputs.results import read_json

COLUMNS = DIFFERENCE_COLUMNS


def with_distance_from_render(videos: dict[str, dict[str, float]], world: dict[str, dict[str, float]]) -> None:
    """Add ``imaging_vs_render`` to each video whose prompt's render (stem ``<prompt>-0``) was scored."""
    for stem, scores in videos.items():
        render = world.get(stem.rsplit("-", 1)[0] + "-0")
        if render is not None and "imaging_quality" in scores:
            scores["imaging_vs_render"] = abs(scores["imaging_quality"] - render["imaging_quality"])


def load_videos(sources: list[str], method: str) -> dict[str, dict[str, float]]:
    videos: dict[str, dict[str, float]] = {}
    for source in sources:
        path = Path(source)
        path = path / RESULTS_FILE if path.is_dir() else path
        rows = read_json(path, "give a folder written by `streamt1 evaluate --out` or its results.json")["videos"]
        part = rows.get(method, {})
        with_distance_from_render(part, rows.get("world", {}))
        videos.update(part)
    return videos


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("sets", nargs="+", help="NAME=FOLDER[,FOLDER...][:METHOD]; the first is the baseline")
    p.add_argument("--common", action="store_true", help="only the videos (prompt and seed) every set has")
    p.add_argument("--method", default="none", help="the preset whose videos are compared (default none)")
    p.add_argument("--also", default="", help="more metrics to show, comma-separated (e.g. imaging_quality)")
    args = p.parse_args()
    if len(args.sets) < 2 or any("=" not in s for s in args.sets):
        p.error("give at least two NAME=FOLDER[,FOLDER...] sets")
    sets = {}
    for name, source in (s.split("=", 1) for s in args.sets):
        folders, _, method = source.partition(":")
        method = method or args.method
        sets[name] = load_videos(folders.split(","), method)
        if not sets[name]:
            p.error(f"set {name!r}: no videos of method {method!r} in {folders} "
                    "(the form is NAME=FOLDER[,FOLDER...][:METHOD])")
    if args.common:
        shared = set.intersection(*(set(videos) for videos in sets.values()))
        if not shared:
            p.error("--common: the sets share no video (prompt and seed)")
        sets = {name: {s: v for s, v in videos.items() if s in shared} for name, videos in sets.items()}
    wanted = [*COLUMNS, *(c for c in args.also.split(",") if c and c not in COLUMNS)]
    columns = [c for c in wanted if any(c in v for vs in sets.values() for v in vs.values())]
    base_name, base = next(iter(sets.items()))
    print("| weights | videos | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for name, videos in sets.items():
        cells = [mean_ci([100 * v[c] for v in videos.values()]) for c in columns]
        print(f"| {name} | {len(videos)} | " + " | ".join(f"{e.mean:.1f} ± {e.half_width:.1f}" for e in cells) + " |")
    for name, videos in list(sets.items())[1:]:
        cells = [paired_difference({s: 100 * v[c] for s, v in videos.items()}, {s: 100 * v[c] for s, v in base.items()})
                 for c in columns]
        print(f"| {name} - {base_name} | {cells[0].n} | "
              + " | ".join(f"{e.mean:+.1f} ± {e.half_width:.1f}" for e in cells) + " |")


if __name__ == "__main__":
    main()
