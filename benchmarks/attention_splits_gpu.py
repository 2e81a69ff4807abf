"""Split-key attention against one cuDNN softmax at the shapes of a Wan 1.3B chunk (832x480), side by side.

A chunk's self-attention (4680 queries = 3 frames x 1560 tokens, 12 heads of 128) reads the cache's keys
plus its own. At batch 1 cuDNN's kernel has 12 x 37 = 444 blocks of 128 queries for an H200's 132 SMs:
3.4 waves, the fourth mostly empty. ``attend_split_keys`` cuts the keys into parts attended as one batch
and merges them by their log-sum-exps; ``key_splits`` picks how many parts from that wave count. This
prints, per batch (1: the single path; 2: a Stream-T1 pass) and key length, the time of each number of
parts, the one the policy picks, its speed-up over one softmax, and the error against float32.

    PYTHONPATH=src python benchmarks/attention_splits_gpu.py
"""

from __future__ import annotations

import argparse
import math

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from streamt1.models.causal_wan import ATTENTION_QUERY_TILE, attend_split_keys, key_splits

TOKENS_PER_FRAME = 1560  # 30 x 52 tokens of a 60 x 104 latent, patch 2 x 2
HEADS, HEAD_DIM = 12, 128


def time_ms(fn, iters: int) -> float:
    """Median of ``iters`` CUDA-event timings after two warm-up calls."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--key-frames", type=int, nargs="+", default=[6, 12],
                        help="key frames (past + chunk; 12 = sink 3 + window 9, the full window)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA device")
    device = torch.device("cuda")
    sms = torch.cuda.get_device_properties(device).multi_processor_count
    print(f"{torch.cuda.get_device_name(device)}, {sms} SMs, torch {torch.__version__}; "
          f"cuDNN SDPA vs split keys, bf16, {3 * TOKENS_PER_FRAME} queries, {HEADS} heads of {HEAD_DIM}")
    print(f"{'batch':>5} {'keys':>6} {'blocks':>6} {'one softmax':>11} {'2 parts':>8} {'3 parts':>8} {'4 parts':>8}"
          f"  policy  speed-up  max error (one / policy)")
    g = torch.Generator(device=device).manual_seed(0)
    queries = 3 * TOKENS_PER_FRAME
    for frames in args.key_frames:
        keys = frames * TOKENS_PER_FRAME
        for batch in args.batches:
            q = 4 * torch.randn(batch, queries, HEADS, HEAD_DIM, generator=g, device=device, dtype=torch.bfloat16)
            k, v = (torch.randn(batch, keys, HEADS, HEAD_DIM, generator=g, device=device, dtype=torch.bfloat16)
                    for _ in range(2))

            def whole() -> torch.Tensor:
                with sdpa_kernel([SDPBackend.CUDNN_ATTENTION], set_priority=True):
                    return F.scaled_dot_product_attention(*(t.transpose(1, 2) for t in (q, k, v))).transpose(1, 2)

            ms = {1: time_ms(whole, args.iters)}
            for s in (2, 3, 4):
                if keys % s == 0:
                    ms[s] = time_ms(lambda: attend_split_keys(q, k, v, s), args.iters)
            blocks = batch * HEADS * math.ceil(queries / ATTENTION_QUERY_TILE)
            pick = key_splits(blocks, sms, keys)
            ref = F.scaled_dot_product_attention(*(t[:1].transpose(1, 2).float() for t in (q, k, v))).transpose(1, 2)
            picked = whole() if pick == 1 else attend_split_keys(q, k, v, pick)
            errors = [(o[:1].float() - ref).abs().max().item() for o in (whole(), picked)]
            cells = " ".join(f"{ms[s]:>8.3f}" if s in ms else f"{'-':>8}" for s in (2, 3, 4))
            print(f"{batch:>5} {keys:>6} {blocks:>6} {ms[1]:>11.3f} {cells}  {pick:>6}  x{ms[1] / ms[pick]:>6.3f}"
                  f"  {errors[0]:.4f} / {errors[1]:.4f}", flush=True)


if __name__ == "__main__":
    main()
