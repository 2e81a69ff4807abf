"""How memory sinking's gates behaved in saved search traces: routes applied, gate rates, long-score drops.

    streamt1 evaluate --methods stream-t1 --no-videos --traces --out DIR ...
    python benchmarks/sprites_gate_stats.py DIR [DIR ...]

Reads every ``*.trace.json`` below the folders whose search sinks memory (others are skipped and
counted: with sinking off every eviction is discarded). Per evicted chunk of each surviving history (the
trace's history records): the route the cache applied (discard / ema / append) and how often the
quality and transition gates were open. Along each video's chosen lineage: the drops of the long
(video) score from one chunk to the next, which the transition gate compares with
``search.transition_threshold`` (read from each trace's configuration).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from statistics import fmean, quantiles

from streamt1.search.trace import Trace, chosen_path


def gate_stats(paths: list[Path]) -> dict:
    """Routes applied, gate counts and the chosen lineages' long-score drops over the traces ``paths``."""
    routes: Counter[str] = Counter()
    gated = quality = transition = 0
    drops: list[float] = []
    thresholds: set = set()
    skipped = 0
    for path in paths:
        trace = Trace.load(path)
        search = trace.config.get("search", {})
        if not search.get("memory_sinking"):
            skipped += 1  # sinking off: every eviction is discarded whatever its gates say
            continue
        thresholds.add(search.get("transition_threshold"))
        for chunk in trace.chunks:
            for history in chunk.histories:
                if history.route is None:  # nothing left the window at this chunk
                    continue
                routes[history.route] += 1
                if history.quality is not None:
                    gated += 1
                    quality += bool(history.quality)
                    transition += bool(history.transition)
        longs = [trace.chunks[n].candidates[c].long for n, c in enumerate(chosen_path(trace))]
        drops += [a - b for a, b in zip(longs, longs[1:]) if a is not None and b is not None]
    return {"traces": len(paths) - skipped, "skipped": skipped, "routes": dict(routes), "gated": gated, "quality": quality,
            "transition": transition, "drops": drops, "thresholds": sorted(t for t in thresholds if t is not None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", help="folders holding *.trace.json (searched recursively)")
    args = parser.parse_args()
    paths = sorted(p for folder in args.folders for p in Path(folder).rglob("*.trace.json"))
    if not paths:
        raise SystemExit(f"no *.trace.json under {', '.join(args.folders)}: run `streamt1 evaluate --traces`")
    stats = gate_stats(paths)
    print(f"{stats['traces']} traces with memory sinking ({stats['skipped']} without it skipped), "
          f"transition_threshold {stats['thresholds']}")
    routes = stats["routes"]
    total = sum(routes.values())
    if total:
        print("routes applied: " + ", ".join(f"{r} {n} ({n / total:.0%})" for r, n in sorted(routes.items())))
    gated, drops = stats["gated"], stats["drops"]
    if gated:
        print(f"gates over {gated} evicted chunks: quality open {stats['quality'] / gated:.0%}, "
              f"transition open {stats['transition'] / gated:.0%}")
    if len(drops) >= 2:
        q = quantiles(drops, n=10)
        print(f"long-score drops along the chosen lineages ({len(drops)}): mean {fmean(drops):+.3f}, "
              f"10 % {q[0]:+.3f}, median {q[4]:+.3f}, 90 % {q[-1]:+.3f}")
        for threshold in stats["thresholds"]:
            print(f"  share above {threshold}: {sum(d > threshold for d in drops) / len(drops):.0%}")


if __name__ == "__main__":
    main()
