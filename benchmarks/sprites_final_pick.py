"""How well does the final pick choose among finished Sprites videos? Best-of-N's whole decision, measured offline.

    python benchmarks/sprites_final_pick.py record --out DIR [--weights DIR] [--num-prompts 16] [--offset 32] [--seed 5]
        [--candidates 16] [--num-frames 81] [--shard I --num-shards S]
    python benchmarks/sprites_final_pick.py judge DIR [DIR ...]

``record`` makes ``candidates`` plain-generation videos of each prompt (seeds ``seed * 1000 + i``: the
independent videos Best-of-N draws), and stores per video the ground-truth metrics and three scores the
committed video reward can give a finished video:

* ``plan``: the reward on the whole video with its own frame plan (8 frames, the last 3 at full rate),
  which is what the engine's final pick reads (``StreamSearch._finish``);
* ``even``: the same reward reading 8 frames spread evenly over the video (``recent_frames`` 0);
* ``windows``: the mean of the reward over the windows the search scores during generation (for each
  chunk, the last ``search.long_window_chunks`` chunks up to it, as the long reward sees them).

``judge`` prints, for each score and for a random pick (the mean over the candidates, i.e. plain
generation), the ground truth of the video it picks, the paired differences against the random pick and
against ``plan`` with 95 % intervals (one item per prompt), and each score's pairwise agreement with
the ground truth over the candidate pairs whose truths differ by more than 0.02. The truth of a pair is
the mean of subject consistency and text alignment, the two metrics issue 9 asks the search to raise.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from streamt1 import api
from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import evaluate_video
from streamt1.metrics.stats import paired_difference
from streamt1.search.beam import final_clips
from streamt1.search.clips import score_clips

SCORES = ("plan", "even", "windows")
METRICS = ("subject_consistency", "text_alignment", "alignment_presence", "alignment_shape", "alignment_motion",
           "background_consistency")
MIN_GAP = 0.02


def truth(metrics: dict[str, float]) -> float:
    return (metrics["subject_consistency"] + metrics["text_alignment"]) / 2


def video_scores(reward, frames: torch.Tensor, prompt: str, chunk: int, window_chunks: int, fps: float) -> dict:
    """The three scores of one finished video; ``plan`` and ``windows`` read the clips the engine's final pick
    reads (``search.beam.final_clips``, ``final_score`` whole and windows)."""
    chunks = list(frames.split(chunk))

    def mean_score(final_score: str) -> float:
        batches = final_clips([chunks], 0, len(chunks), final_score, window_chunks)
        return sum(float(score_clips(reward, clips, [prompt], fps).overall) for clips in batches) / len(batches)

    plan = mean_score("whole")
    recent = reward.config.recent_frames
    reward.with_recent_frames(0)
    even = mean_score("whole")
    reward.with_recent_frames(recent)
    return {"plan": plan, "even": even, "windows": mean_score("windows")}


def record(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # the pathway video reward: the pick rules compared here differ in how they read its frame plan
    config = build_config("none", None, ["rewards.video=sprites-video"], num_frames=args.num_frames,
                          weights=args.weights, device="cpu", backend="sprites")
    components = api.load_components(config, reward_kinds=("video",))
    search = api.make_search(config, components)
    reward = getattr(components.video_reward, "reward", components.video_reward)  # the net, not its batch slicer
    chunk, window = search.generator.stream.chunk_frames, config.search.long_window_chunks
    fps = search.generator.spec.fps
    prompts = eval_prompts(args.offset + args.num_prompts, args.num_frames)[args.offset:]
    for j, prompt in enumerate(prompts):
        if j % args.num_shards != args.shard:
            continue
        path = out / f"prompt{args.offset + j}-seed{args.seed}.json"
        if path.exists():
            continue
        start, videos = time.time(), []
        for i in range(args.candidates):
            frames = search.run(prompt, args.num_frames, args.seed * 1000 + i, progress=False).frames
            metrics = evaluate_video(frames.float() / 255, prompt)
            videos.append({"metrics": {k: metrics[k] for k in METRICS},
                           **video_scores(reward, frames, prompt, chunk, window, fps)})
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"prompt": prompt, "seed": args.seed, "videos": videos}))
        tmp.replace(path)
        print(f"prompt {args.offset + j}: {len(videos)} videos in {time.time() - start:.0f} s", flush=True)


def judge(folders: list[str]) -> None:
    groups = [json.loads(p.read_text()) for f in folders for p in sorted(Path(f).glob("prompt*.json"))]
    print(f"{len(groups)} prompts x {len(groups[0]['videos'])} candidates")
    picked: dict[str, dict[str, dict[int, float]]] = {s: {m: {} for m in METRICS} for s in ("random", *SCORES, "oracle")}
    agree = {s: [0, 0] for s in SCORES}
    per_prompt: dict[str, dict[int, float]] = {s: {} for s in SCORES}  # each prompt's agreement (its pairs are not independent)
    for g, group in enumerate(groups):
        videos = group["videos"]
        truths = [truth(v["metrics"]) for v in videos]
        for m in METRICS:
            picked["random"][m][g] = sum(v["metrics"][m] for v in videos) / len(videos)
        best = {s: max(range(len(videos)), key=lambda i: videos[i][s]) for s in SCORES}
        best["oracle"] = max(range(len(videos)), key=lambda i: truths[i])
        for s, i in best.items():
            for m in METRICS:
                picked[s][m][g] = videos[i]["metrics"][m]
        pairs = [(a, b) for a in range(len(videos)) for b in range(a + 1, len(videos))
                 if abs(truths[a] - truths[b]) > MIN_GAP]
        for s in SCORES:
            hits = sum((videos[a][s] > videos[b][s]) == (truths[a] > truths[b]) for a, b in pairs)
            agree[s][0] += hits
            agree[s][1] += len(pairs)
            if pairs:
                per_prompt[s][g] = hits / len(pairs)
    print("pairwise agreement with the truth (mean of subject consistency and text alignment):",
          ", ".join(f"{s} {n / max(d, 1):.3f} ({d} pairs)" for s, (n, d) in agree.items()))
    for s in ("even", "windows"):
        d = paired_difference(per_prompt[s], per_prompt["plan"])
        print(f"agreement per prompt, {s} - plan: {d.mean:+.3f} ± {d.half_width:.3f} ({len(per_prompt[s])} prompts)")
    print("| pick | " + " | ".join(METRICS) + " |")
    print("|---|" + "---|" * len(METRICS))
    for s, by_metric in picked.items():
        print(f"| {s} | " + " | ".join(f"{100 * sum(v.values()) / len(v):.1f}" for v in by_metric.values()) + " |")
    for base in ("random", "plan"):
        for s in ("plan", "even", "windows", "oracle"):
            if s == base:
                continue
            cells = []
            for m in METRICS:
                d = paired_difference(picked[s][m], picked[base][m])
                cells.append(f"{100 * d.mean:+.1f} ± {100 * d.half_width:.1f}")
            print(f"| {s} - {base} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("record")
    r.add_argument("--out", required=True)
    r.add_argument("--weights", default=None, help="Sprites weights folder (default: built-in)")
    r.add_argument("--num-prompts", type=int, default=16)
    r.add_argument("--offset", type=int, default=32, help="32: the tuning split, never the reported prompts")
    r.add_argument("--seed", type=int, default=5)
    r.add_argument("--candidates", type=int, default=16)
    r.add_argument("--num-frames", type=int, default=81)
    r.add_argument("--shard", type=int, default=0)
    r.add_argument("--num-shards", type=int, default=1)
    j = sub.add_parser("judge")
    j.add_argument("folders", nargs="+")
    args = p.parse_args(argv)
    if args.command == "record":
        record(args)
    else:
        judge(args.folders)


if __name__ == "__main__":
    main()
