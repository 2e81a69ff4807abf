"""The video reward's parts (motion, coherence, alignment) on sibling candidates: how each orders the
pairs against the fused truth, and how a reweighted sum would (the reward's overall is their plain sum).
A diagnostic on a CPU recording (train-split scenes, ``python -m streamt1.sprites.siblings``), not a
choice: weights picked here would need a held-out check.

    python benchmarks/logs/sprites_2026-12-04_twentyfourth/part_weights.py runs/sib
"""
import itertools
import sys

import torch

from streamt1.agreement import pairwise_agreement
from streamt1.sprites.rank_rewards import RankRewardsConfig, make_batch, prepare, score_batch
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR, VIDEO_PARTS, SpritesImageReward, SpritesVideoReward
from streamt1.sprites.siblings import load_groups

torch.manual_seed(0)
video = SpritesVideoReward.from_pretrained(DEFAULT_WEIGHTS_DIR, "cpu").eval()
image = SpritesImageReward.from_pretrained(DEFAULT_WEIGHTS_DIR, "cpu").eval()
train, tuning = load_groups(sys.argv[1], lambda g: prepare(g, video))
groups = train + tuning
rows = []
with torch.no_grad():
    for i in range(0, len(groups), 64):
        part = groups[i : i + 64]
        batch = make_batch(part, RankRewardsConfig.tau)
        _, long, parts = score_batch(image, video, batch)
        for k, g in enumerate(part):
            rows.append((long[batch.group == k], parts[batch.group == k], g))
parents = [g.parents for *_, g in rows]


def agree(scores) -> tuple[float, int]:
    return pairwise_agreement([(s.tolist(), g.video_truth.tolist()) for s, (*_, g) in zip(scores, rows)], 0.02, parents)


print(f"{len(rows)} groups; video reward overall: agreement {agree([r[0] for r in rows])}")
for i, name in enumerate(VIDEO_PARTS):
    own = pairwise_agreement([(r[1][:, i].tolist(), r[2].part_truth[:, i].tolist()) for r in rows], 0.02, parents)
    print(f"  {name} alone: {agree([r[1][:, i] for r in rows])}; against its own truth (PART_TRUTHS): {own}")
for w in itertools.product((0.5, 1.0, 2.0), repeat=len(VIDEO_PARTS)):
    value, pairs = agree([(r[1] * torch.tensor(w)).sum(1) for r in rows])
    print(f"  weights {dict(zip(VIDEO_PARTS, w))}: {value:.4f} over {pairs} pairs")
