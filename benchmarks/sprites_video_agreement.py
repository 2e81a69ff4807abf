"""Do the rewards order whole videos of one prompt and seed the way the ground truth does?

    python benchmarks/sprites_video_agreement.py runs/eval/results.json [--min-gap 0.02]

Reads a ``streamt1 evaluate`` results file (``--merge`` of many presets gives many videos per prompt
and seed): for every prompt and seed, every pair of the methods' videos whose truth differs by more
than ``min-gap``, is the reward column ordered the same way? Prints the agreement (0.5 = chance) of
each ``reward_*`` column against each truth: the fused truth the search orders by (mean of text
alignment and subject consistency, :func:`streamt1.agreement.fused_truth`) and its parts.
"""

from __future__ import annotations

import argparse
import json

from streamt1.agreement import fused_truth, pairwise_agreement
from streamt1.evaluate import REFERENCE

TRUTHS = {
    "fused": fused_truth,
    "text alignment": lambda r: r["text_alignment"],
    "subject consistency": lambda r: r["subject_consistency"],
    "presence": lambda r: r["alignment_presence"],
    "shape": lambda r: r["alignment_shape"],
    "motion": lambda r: r["alignment_motion"],
    "background": lambda r: r["alignment_background"],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("results")
    p.add_argument("--min-gap", type=float, default=0.02)
    args = p.parse_args()
    videos = json.load(open(args.results))["videos"]
    methods = sorted(m for m in videos if m != REFERENCE)
    stems = sorted(set.intersection(*(set(videos[m]) for m in methods)))
    rewards = sorted(k for k in videos[methods[0]][stems[0]] if k.startswith("reward_"))
    print(f"{len(methods)} methods x {len(stems)} prompt-seed pairs ({', '.join(methods)})")
    print("| truth | pairs | " + " | ".join(r.removeprefix("reward_") for r in rewards) + " |")
    print("|---|---|" + "---|" * len(rewards))
    for name, truth in TRUTHS.items():
        cells, pairs = [], 0
        for reward in rewards:
            groups = [([videos[m][s][reward] for m in methods], [truth(videos[m][s]) for m in methods]) for s in stems]
            value, pairs = pairwise_agreement(groups, args.min_gap)
            cells.append(f"{value:.3f}")
        print(f"| {name} | {pairs} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
