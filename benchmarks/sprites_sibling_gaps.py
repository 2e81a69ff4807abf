"""What differs between a search's sibling candidates: per window metric, how far siblings are apart.

    python benchmarks/sprites_sibling_gaps.py RECORD [--min-gap 0.02]

RECORD is a folder written by ``python -m streamt1.sprites.siblings``. For every pair of candidates
of one scored chunk, the absolute difference of each metric of their reward windows; prints the
mean difference and the share of pairs apart by more than ``--min-gap`` per metric, and the same for
the fused truth the agreement measure orders by (:func:`streamt1.agreement.fused_truth`).
"""

from __future__ import annotations

import argparse
import itertools

import torch

from streamt1.sprites.siblings import load_groups


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("record", help="folder of scene-*.pt (streamt1.sprites.siblings)")
    p.add_argument("--min-gap", type=float, default=0.02)
    args = p.parse_args()
    train, tuning = load_groups(args.record)
    groups = train + tuning
    gaps: dict[str, list[float]] = {"fused truth": []}
    for group in groups:
        columns = {"fused truth": group.video_truth(), **group.window_metrics}
        for i, j in itertools.combinations(range(len(group)), 2):
            for name, values in columns.items():
                gaps.setdefault(name, []).append(abs(float(values[i] - values[j])))
    print(f"{len(groups)} groups, {len(gaps['fused truth'])} sibling pairs ({args.record})")
    print(f"| metric | mean abs difference | share of pairs > {args.min_gap:g} |\n|---|---|---|")
    for name, values in sorted(gaps.items(), key=lambda kv: -sum(kv[1]) / len(kv[1])):
        v = torch.tensor(values)
        print(f"| {name} | {v.mean():.4f} | {(v > args.min_gap).float().mean():.3f} |")


if __name__ == "__main__":
    main()
