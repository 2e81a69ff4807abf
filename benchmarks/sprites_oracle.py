"""Search with the ground truth as its reward: how much can each method gain with perfect rewards?

    python benchmarks/sprites_oracle.py --methods none,stream-t1 --num-prompts 32 --seeds 0,1 \
        --num-frames 81 --device cuda --out runs/oracle/stream-t1
    streamt1 evaluate --merge runs/oracle/* --out runs/oracle/all

A diagnostic ceiling. The learned Sprites rewards order sibling candidates like the ground truth only
about 0.55 of the time and no search beats plain generation with them; this run swaps them for
oracles computed from the analytic metrics (:mod:`streamt1.metrics.sprites`), so a method that still
gains nothing is limited by the model's diversity, not by its rewards. The oracles parse the caption,
which only the Sprites world allows: they are not rewards to ship, and live here, not in the package.

* video oracle: :func:`streamt1.agreement.fused_truth` of each clip (mean of text alignment and
  subject consistency), every metric as a part. It scores the window the search hands it with the
  caption's events spread over that window, so captions with timed events are judged only roughly.
* image oracle: per frame, the mean of the alignment parts one frame can show (background, presence,
  shape), from the metrics of the frame shown three times (the metrics need three frames).

Everything else is ``streamt1 evaluate``: same prompts, seeds, metrics and ``results.json`` format
(the table's ``reward_*`` columns are the oracle's), so per-method folders merge with
``streamt1 evaluate --merge``. A folder made with the learned rewards never merges with an oracle
folder, nor does either resume into the other: every row's settings name the oracle.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor

from streamt1 import api
from streamt1.agreement import fused_truth
from streamt1.config import build_config, shared_overrides
from streamt1.evaluate import LENGTHS, TABLE_FILE, EvalSettings, run_evaluation
from streamt1.interfaces import VideoScore, unit_float
from streamt1.metrics.sprites import evaluate_video

# The alignment parts a single frame can show (motion needs time; consistency needs several frames).
FRAME_PARTS = ("alignment_background", "alignment_presence", "alignment_shape")
FRAME_REPEATS = 3  # evaluate_video scores at least three frames
# The rewards named in every row's settings: an oracle folder never resumes or merges with a learned one.
ORACLE = "ground-truth oracle (benchmarks/sprites_oracle.py)"


class OracleImageReward:
    """:class:`~streamt1.interfaces.ImageReward` from the ground truth: mean of :data:`FRAME_PARTS`."""

    def __init__(self) -> None:
        self.seconds = 0.0  # time spent scoring, reported by the benchmark

    @torch.no_grad()
    def __call__(self, frames: Tensor, prompts: Sequence[str]) -> Tensor:
        start = time.perf_counter()
        scores = []
        for frame, prompt in zip(unit_float(frames), prompts):  # [3, H, W] each
            metrics = evaluate_video(frame.expand(FRAME_REPEATS, *frame.shape), prompt)
            scores.append(sum(metrics[k] for k in FRAME_PARTS) / len(FRAME_PARTS))
        self.seconds += time.perf_counter() - start
        return torch.tensor(scores)


class OracleVideoReward:
    """:class:`~streamt1.interfaces.VideoReward` from the ground truth: ``fused_truth`` of each clip."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @torch.no_grad()
    def __call__(self, clips: Tensor, prompts: Sequence[str], fps: float) -> VideoScore:
        start = time.perf_counter()
        metrics = [evaluate_video(unit_float(clip), prompt, fps=fps) for clip, prompt in zip(clips, prompts)]
        score = VideoScore(overall=torch.tensor([fused_truth(m) for m in metrics]),
                           parts={k: torch.tensor([m[k] for m in metrics]) for k in metrics[0]})
        self.seconds += time.perf_counter() - start
        return score


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--methods", default="none,best-of-n,beam,stream-t1", help="comma-separated presets")
    p.add_argument("--num-prompts", type=int, default=32)
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--num-frames", type=int, default=LENGTHS["5s"], help="latent frames per video")
    p.add_argument("--weights", default=None, help="Sprites weights folder (default: built-in)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda ...")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting for every method, e.g. --set search.tau=0.2 (plain generation keeps "
                        "the search settings its preset pins)")
    p.add_argument("--out", default="runs/oracle")
    p.add_argument("--videos", action="store_true", help="also write the MP4s (default: scores only)")
    args = p.parse_args(argv)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    seeds = tuple(int(s) for s in args.seeds.split(","))

    def make_config(method: str):
        return build_config(method, None, shared_overrides(method, args.overrides), num_frames=args.num_frames,
                            weights=args.weights, device=args.device, backend="sprites")

    configs = [make_config(m) for m in methods]  # validates every method before any work
    generator = api.load_components(configs[0], reward_kinds=()).generator  # the oracles replace the rewards
    generator.spec.num_chunks(args.num_frames)  # refuses a length the model cannot make, before any work
    image, video = OracleImageReward(), OracleVideoReward()
    settings = EvalSettings(methods=methods, num_prompts=args.num_prompts, num_frames=args.num_frames, seeds=seeds,
                            save_videos=args.videos)
    start = time.perf_counter()
    run_evaluation(settings, make_config, args.out, api.Components(generator, image, video), progress=print,
                   weights=args.weights, rewards=ORACLE)
    total = time.perf_counter() - start
    print(f"{total:.1f} s: oracle scoring {image.seconds:.1f} s (image) + {video.seconds:.1f} s (video), "
          f"generation and the rest {total - image.seconds - video.seconds:.1f} s")
    print(f"table: {Path(args.out) / TABLE_FILE}")


if __name__ == "__main__":
    main()
