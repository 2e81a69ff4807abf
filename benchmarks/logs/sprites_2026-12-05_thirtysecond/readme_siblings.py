"""Why Stream-T1 loses the README prompt's sprite (seed 0): each scored chunk's candidates, what the
search scored them and what the ground truth says of them.

    python benchmarks/logs/sprites_2026-12-05_thirtysecond/readme_siblings.py [--seed 0] [--num-frames 162]

Runs the README's command (stream-t1, the built-in weights and rewards) through the sibling recorder
and prints, per scored chunk: the candidates' fused reward (what the search ranked by), their window's
presence / shape / fused truth, which candidate had the best reward and which the best truth, and the
fused agreement over the chunk's pairs (truth gap > 0.02, as `streamt1.agreement`).
"""

from __future__ import annotations

import argparse

import torch

from streamt1 import api
from streamt1.agreement import pairwise_agreement
from streamt1.config import build_config
from streamt1.sprites.siblings import SiblingRecorder

PROMPT = "a small red circle moves left over a blue background"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-frames", type=int, default=162)
    args = p.parse_args()
    run = build_config("stream-t1", None, [], num_frames=args.num_frames, device="cpu", backend="sprites")
    components = api.load_components(run)
    search = SiblingRecorder(components.generator, run.search, components.image_reward, components.video_reward,
                             method=run.method)
    search.run(PROMPT, args.num_frames, seed=args.seed, progress=False)
    print("chunk frame  n | fused reward (min..max) | presence of best-reward / best over candidates | "
          "fused truth of best-reward / best | agreement (pairs)")
    pairs_all = []
    for g in search.groups:
        reward, truth = g.recorded_fused.double(), g.video_truth()
        presence = g.window_metrics["alignment_presence"]
        best_r = int(reward.argmax())
        agree, pairs = pairwise_agreement([(reward.tolist(), truth.tolist())])
        pairs_all.append((reward.tolist(), truth.tolist()))
        print(f"{g.chunk_index:5d} {g.start_frame:5d} {len(g):2d} | {reward.min():+.3f}..{reward.max():+.3f} | "
              f"{presence[best_r]:.2f} / {presence.max():.2f} | {truth[best_r]:.3f} / {truth.max():.3f} | "
              f"{agree:.2f} ({pairs})")
    agree, pairs = pairwise_agreement(pairs_all)
    print(f"all chunks: agreement {agree:.3f} over {pairs} pairs")


if __name__ == "__main__":
    main()
