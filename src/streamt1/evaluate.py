"""Evaluation in the shape of the paper's tables, on the Sprites world's held-out prompts.

Every method runs on the same eval prompts and seeds. Each video is scored with the analytic
ground-truth metrics (``streamt1.metrics.sprites``, independent of the rewards the search used, like
VBench is independent of HPSv3 / VideoAlign) and with the video reward's sub-scores (the paper's
VQ / MQ / TA columns). Videos are kept as ``<out>/<method>/<prompt>-<seed>.mp4`` so external tools
can score them too; per-video results are stored as they finish, so an interrupted run resumes.
The first row, ``world``, scores the eval scenes as the world renders them: the ceiling each
metric can reach on these prompts (what "Real videos" rows are in video-generation papers).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Callable, Sequence

import torch

from streamt1 import api
from streamt1.config import Config
from streamt1.metrics.sprites import METRIC_NAMES, evaluate_video
from streamt1.outputs.atomic import atomic_write_json, atomic_write_text
from streamt1.sprites.captions import caption
from streamt1.sprites.world import eval_scenes, render

logger = logging.getLogger(__name__)

RESULTS_FILE = "results.json"
TABLE_FILE = "table.md"
REFERENCE = "world"  # the row of the rendered ground truth


@dataclass(frozen=True)
class EvalSettings:
    methods: tuple[str, ...]
    num_prompts: int = 8
    num_frames: int = 48
    seeds: tuple[int, ...] = (0,)


def eval_prompts(count: int, num_latent_frames: int) -> list[str]:
    """The first ``count`` held-out Sprites captions (canonical wording)."""
    return [caption(scene) for scene in eval_scenes(count, num_frames=num_latent_frames)]


@torch.no_grad()
def score_video(frames: torch.Tensor, prompt: str, components: api.Components, fps: float) -> dict[str, float]:
    """Ground-truth metrics plus the video reward's parts for one uint8 video ``[T, 3, H, W]``."""
    video = frames.float() / 255
    scores = evaluate_video(video, prompt, fps=fps)
    if components.video_reward is not None:
        reward = components.video_reward(video[None], [prompt], fps)
        scores["reward_overall"] = float(reward.overall[0])
        scores.update({f"reward_{k}": float(v[0]) for k, v in reward.parts.items()})
    return scores


def run_evaluation(
    settings: EvalSettings,
    make_config: Callable[[str], Config],
    out_dir: str | Path,
    components: api.Components,
    progress: Callable[[str], None] = logger.info,
) -> dict[str, dict[str, float]]:
    """Run every method on every eval prompt and seed; returns method -> mean of each score."""
    out = Path(out_dir)
    results_path = out / RESULTS_FILE
    results: dict[str, dict] = json.loads(results_path.read_text()) if results_path.is_file() else {}
    prompts = eval_prompts(settings.num_prompts, settings.num_frames)
    spec = components.generator.spec
    length = spec.decoded_frames(spec.num_chunks(settings.num_frames))  # as long as the generated videos
    reference = results.setdefault(REFERENCE, {})
    for scene, prompt in zip(eval_scenes(settings.num_prompts, num_frames=settings.num_frames), prompts):
        stem = api.output_stem(prompt, 0)
        if stem not in reference:
            frames = (render(scene, length) * 255).round().to(torch.uint8)
            reference[stem] = score_video(frames, prompt, components, spec.fps)
    for method in settings.methods:
        config = make_config(method)
        search = api.make_search(config, components)
        done = results.setdefault(method, {})
        for prompt in prompts:
            for seed in settings.seeds:
                stem = api.output_stem(prompt, seed)
                if stem in done:
                    continue
                result = search.run(prompt, settings.num_frames, seed, progress=False)
                api.save_result(result, out / method, stem)
                done[stem] = score_video(result.frames, prompt, components, result.fps)
                atomic_write_json(results_path, results)  # resume point
                progress(f"{method:22s} {stem[:60]}")
    summary = summarise(results, (REFERENCE, *settings.methods))
    atomic_write_text(out / TABLE_FILE, markdown_table(summary))
    return summary


def summarise(results: dict[str, dict], methods: Sequence[str]) -> dict[str, dict[str, float]]:
    summary = {}
    for method in methods:
        videos = list(results.get(method, {}).values())
        names = sorted({k for v in videos for k in v})
        summary[method] = {k: fmean(v[k] for v in videos if k in v) for k in names}
        summary[method]["videos"] = len(videos)
    return summary


def markdown_table(summary: dict[str, dict[str, float]]) -> str:
    """Methods as rows; ground-truth metrics as percentages (VBench style), rewards as raw logits."""
    metric_cols = [m for m in METRIC_NAMES]
    reward_cols = sorted({k for row in summary.values() for k in row if k.startswith("reward_")})
    header = ["Method", *[c.replace("_", " ") for c in metric_cols + reward_cols], "videos"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method, row in summary.items():
        cells = [f"{100 * row[c]:.2f}" if c in row else "-" for c in metric_cols]
        cells += [f"{row[c]:.3f}" if c in row else "-" for c in reward_cols]
        lines.append("| " + " | ".join([method, *cells, str(int(row["videos"]))]) + " |")
    return "\n".join(lines) + "\n"
