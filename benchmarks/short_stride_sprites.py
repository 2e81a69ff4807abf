"""How scoring every k-th frame of a chunk with the image reward (``search.short_frame_stride``)
changes Stream-T1's candidate ranking on the Sprites evaluation (CPU, committed weights).

The search runs as the paper's (stride 1) through a probe score step that also scores the same
candidates with stride k; per chunk it compares the kept sets (top K of the fused scores), the best
candidate and the Spearman rank correlation of the fused scores. Chunks whose alpha is 0 (the first,
where only the long reward counts) are left out: there the stride cannot change anything.

    OMP_NUM_THREADS=1 python benchmarks/short_stride_sprites.py --prompts 8 --num-frames 24 --strides 2 3
"""

from __future__ import annotations

import argparse
import dataclasses
from statistics import fmean
from types import SimpleNamespace

import torch

from streamt1 import api
from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.metrics.stats import mean_ci
from streamt1.search.pruning import select_top_k
from streamt1.search.steps import register_step, score_fused


def ranks(scores: torch.Tensor) -> torch.Tensor:
    return torch.argsort(torch.argsort(scores, stable=True), stable=True).double()


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / (ra.norm() * rb.norm()))


def probe_step(strides: list[int], records: dict[int, list[dict]]):
    """A score step that returns the paper's scores and records how stride k would have ranked them."""

    def probe(search, ctx, pool):
        full = score_fused(search, ctx, pool)
        if full.alpha == 0 or len(pool) <= search.config.histories:
            return full
        k = search.config.histories
        kept = set(select_top_k(full.fused, k).tolist())
        for stride in strides:
            view = SimpleNamespace(**{**vars(search), "config": dataclasses.replace(search.config,
                                                                                     short_frame_stride=stride)})
            strided = score_fused(view, ctx, pool)
            records[stride].append({
                "kept_same": kept == set(select_top_k(strided.fused, k).tolist()),
                "best_same": int(select_top_k(full.fused, 1)) == int(select_top_k(strided.fused, 1)),
                "spearman": spearman(full.fused, strided.fused),
            })
        return full

    return probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--num-frames", type=int, default=24)
    parser.add_argument("--strides", type=int, nargs="+", default=[2, 3])
    args = parser.parse_args()
    records = {s: [] for s in args.strides}
    register_step("score", "stride-probe")(probe_step(args.strides, records))
    config = build_config("stream-t1", device="cpu", num_frames=args.num_frames, overrides=["search.scoring=stride-probe"])
    components = api.load_components(config)
    search = api.make_search(config, components)
    frames = components.generator.spec.frames_per_chunk
    for prompt in eval_prompts(args.prompts, args.num_frames):
        search.run(prompt, args.num_frames, 0, progress=False)
    print(f"{args.prompts} prompts x 1 seed, {args.num_frames} latent frames, {frames} frames per chunk, "
          f"K=2 of 4 candidates per chunk")
    print("| stride | frames scored / chunk | chunks | kept set same | best same | Spearman of fused (mean ± 95 % CI) |")
    print("|---|---|---|---|---|---|")
    for stride, rows in records.items():
        print(f"| {stride} | {len(range(0, frames, stride))} | {len(rows)} | "
              f"{100 * fmean(r['kept_same'] for r in rows):.1f} % | {100 * fmean(r['best_same'] for r in rows):.1f} % | "
              f"{mean_ci([r['spearman'] for r in rows]).format(1, 3)} |")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
