"""Do the rewards order whole videos of one prompt and seed the way the ground truth does?

    python benchmarks/sprites_video_agreement.py runs/eval/results.json [--min-gap 0.02]

Reads a ``streamt1 evaluate`` results file (``--merge`` of many presets gives many videos per prompt
and seed): for every prompt and seed, every pair of the methods' videos whose truth differs by more
than ``min-gap``, is the reward column ordered the same way? A prompt and seed counts with the
methods that have its video (an unfinished run lacks some), if at least two have it. Prints the
agreement (0.5 = chance) of each ``reward_*`` column against each truth: the fused truth the search
orders by (mean of text alignment and subject consistency, :func:`streamt1.agreement.fused_truth`)
and its parts.
"""

from __future__ import annotations

import argparse

from streamt1.agreement import fused_truth, pairwise_agreement
from streamt1.evaluate import REFERENCE
from streamt1.outputs.results import read_json

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
    videos = read_json(args.results, "give the results.json of a `streamt1 evaluate` folder")["videos"]
    methods = sorted(m for m in videos if m != REFERENCE)
    # Each prompt and seed with the methods that made its video (unfinished runs lack some): 2 at least.
    stems = sorted({s for m in methods for s in videos[m]})
    made = {s: [m for m in methods if s in videos[m]] for s in stems}
    made = {s: ms for s, ms in made.items() if len(ms) > 1}
    if not made:
        raise SystemExit(f"{args.results}: no prompt and seed has videos of two methods (methods: "
                         f"{', '.join(methods) or 'none'}); merge the presets' folders with `streamt1 evaluate "
                         "--merge` first")
    rewards = sorted({k for s, ms in made.items() for m in ms for k in videos[m][s] if k.startswith("reward_")})
    short = len(made) * len(methods) - sum(map(len, made.values()))
    print(f"{len(methods)} methods x {len(made)} prompt-seed pairs ({', '.join(methods)})"
          + (f"; {short} of their videos missing" if short else ""))
    print("| truth | pairs | " + " | ".join(r.removeprefix("reward_") for r in rewards) + " |")
    print("|---|---|" + "---|" * len(rewards))
    for name, truth in TRUTHS.items():
        cells, pairs = [], 0
        for reward in rewards:
            groups = [([videos[m][s][reward] for m in ms], [truth(videos[m][s]) for m in ms]) for s, ms in made.items()
                      if all(reward in videos[m][s] for m in ms)]
            value, pairs = pairwise_agreement(groups, args.min_gap)
            cells.append(f"{value:.3f}")
        print(f"| {name} | {pairs} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
