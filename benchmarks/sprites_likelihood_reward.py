"""Does the video model itself order its sibling candidates the way the ground truth does?

    python benchmarks/sprites_likelihood_reward.py RECORD [--weights DIR] [--sigmas 0.3,0.5,0.7]
        [--max-groups N] [--split tuning|train|all]

RECORD: a folder of ``python -m streamt1.sprites.siblings`` (the model's own Stream-T1 candidates on
train-split scenes, with their analytic ground truth). For every candidate the reward window (its
history's frames, then its chunk) is encoded with the model's codec; the chunk is noised to each sigma
with one noise per group (siblings see the same noise, so their scores differ by their frames alone)
and the model predicts its flow after the clean history, under the caption and under the empty caption.
Scores per candidate (higher = better), averaged over the sigmas:

* ``likelihood``: minus the flow error under the caption (a denoising estimate of how likely the
  model finds the chunk after its history, Diffusion Classifier style);
* ``caption gain``: the error under the empty caption minus that under the caption (how much the
  caption explains the chunk: an implicit classifier of the caption, free of how hard the frames are);

and ``likelihood + reward``: the mean of the likelihood's and the recorded fused reward's z-scores
within the group (rule fixed after the first 160 tuning groups, before the rest were scored). Prints,
on pairs whose fused truths differ by more than 0.02, the share each score orders as the truth does,
beside the search's recorded fused reward on the same pairs, overall and by the metric that dominates
each pair's truth gap, and each score's difference to the recorded reward with a 95 % bootstrap
interval over groups (:func:`streamt1.agreement.paired_difference`). ``--skip N`` leaves out the
first N groups of the split (those a rule was chosen on). The sink frames the generator also attends are not in the record, so
the model sees only the reward window's history: a diagnostic, not the generator's exact conditional.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from streamt1.agreement import paired_difference, pairwise_agreement
from streamt1.models.causal_wan import block_causal_mask
from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR
from streamt1.sprites.siblings import SiblingGroup, load_groups
from sprites_truth_ceiling import PARTS, WEIGHTS  # noqa: E402  (this folder: the fused truth's parts and weights)

def dominant_part(group: SiblingGroup, i: int, j: int) -> str:
    """The metric whose difference moves the pair's fused truth most."""
    return max(PARTS, key=lambda k: WEIGHTS[k] * abs(float(group.window_metrics[k][i] - group.window_metrics[k][j])))


@torch.no_grad()
def model_scores(model: SpritesVideoModel, group: SiblingGroup, sigmas: list[float], seed: int,
                 text_cache: dict) -> dict[str, list[float]]:
    clips = group.video_clips().float() / 255  # [N, T_h + T_c, 3, H, W]
    n, frames = clips.shape[:2]
    latents = model.codec.encode(clips)  # [N, C, F, h, w], one latent frame per frame
    chunk = group.chunks.shape[1]
    start = group.start_frame - (frames - chunk)  # absolute frame of the window's first frame
    positions = torch.arange(start, start + frames)
    stream = model.stream
    mask = block_causal_mask(frames, stream.chunk_frames, 0, None)
    key = (group.prompt, group.num_frames, n)
    if key not in text_cache:  # a scene's groups share its caption
        states = model.text_encoder([group.prompt, ""])
        text_cache.clear()
        text_cache[key] = [model.transformer.encode_text(states[i:i + 1].expand(n, -1, -1), group.num_frames)
                           for i in range(2)]
    captioned, empty = text_cache[key]
    x0 = latents[:, :, -chunk:]
    g = torch.Generator().manual_seed(seed)
    errors = {"caption": torch.zeros(n), "empty": torch.zeros(n)}
    for sigma in sigmas:
        noise = torch.randn(x0.shape[1:], generator=g).expand_as(x0)  # one noise for every sibling
        x_t = (1 - sigma) * x0 + sigma * noise
        inputs = torch.cat([latents[:, :, :-chunk], x_t], 2)
        times = torch.cat([torch.zeros(n, frames - chunk), torch.full((n, chunk), sigma * 1000.0)], 1)
        for name, text in (("caption", captioned), ("empty", empty)):
            flow = model.transformer(inputs, times, text, positions, mask)[:, :, -chunk:]
            errors[name] += (flow.float() - (noise - x0)).pow(2).mean((1, 2, 3, 4))
    return {"likelihood": (-errors["caption"]).tolist(), "caption gain": (errors["empty"] - errors["caption"]).tolist()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("record")
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    p.add_argument("--sigmas", default="0.3,0.5,0.7")
    p.add_argument("--split", default="tuning", choices=("tuning", "train", "all"))
    p.add_argument("--max-groups", type=int, default=None)
    p.add_argument("--skip", type=int, default=0, help="leave out the split's first N groups")
    p.add_argument("--save", default=None, help="write every group's scores and truths to this JSON file")
    p.add_argument("--min-gap", type=float, default=0.02)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    model = SpritesVideoModel.from_pretrained(args.weights).eval()
    train, tuning = load_groups(args.record)
    groups = {"tuning": tuning, "train": train, "all": train + tuning}[args.split][args.skip:]
    groups = groups[:args.max_groups]
    sigmas = [float(s) for s in args.sigmas.split(",")]
    start, cache = time.perf_counter(), {}
    scores = [model_scores(model, group, sigmas, args.seed + k, cache) for k, group in enumerate(groups)]
    truths = [group.video_truth().tolist() for group in groups]
    parents = [group.parents.tolist() for group in groups]
    columns = {"recorded fused reward": [group.recorded_fused.tolist() for group in groups],
               **{name: [s[name] for s in scores] for name in scores[0]}}
    columns["likelihood + reward"] = [(zscores(a) + zscores(b)).tolist() for a, b in
                                      zip(columns["likelihood"], columns["recorded fused reward"])]
    if args.save:
        Path(args.save).write_text(json.dumps({"truths": truths, "parents": parents, **columns}))
    print(f"{args.record} ({args.split}: {len(groups)} groups, sigmas {sigmas}, {time.perf_counter() - start:.0f} s): "
          f"agreement with the fused truth on pairs whose truths differ by more than {args.min_gap}")
    print(f"  {'score':24s} {'all':>12s} {'same parent':>12s} {'two parents':>12s}   " + " ".join(f"{k[10:] if k.startswith('alignment_') else 'consistency':>11s}" for k in PARTS))
    for name, values in columns.items():
        rows = list(zip(values, truths))
        cells = []
        for same in (None, True, False):
            value, pairs = pairwise_agreement(rows, args.min_gap, parents, same)
            cells.append(f"{value:.3f} ({pairs:4d})")
        by_part = []
        for part in PARTS:
            value, pairs = pairwise_agreement(rows, args.min_gap,
                                              keep=lambda k, i, j, part=part: dominant_part(groups[k], i, j) == part)
            by_part.append(f"{value:.3f}({pairs:3d})")
        print(f"  {name:24s} " + " ".join(f"{c:>12s}" for c in cells) + "   " + " ".join(by_part))
    table = [{name: (values[k], truths[k]) for name, values in columns.items()} for k in range(len(groups))]
    for name in list(columns)[1:]:
        diff, low, high = paired_difference(table, name, "recorded fused reward", args.min_gap)
        print(f"  {name} - recorded fused reward: {diff:+.3f} (95 % {low:+.3f} .. {high:+.3f})")


def zscores(values: list[float]) -> torch.Tensor:
    """Within-group z-scores (0 for a group whose values are all equal)."""
    x = torch.tensor(values, dtype=torch.float64)
    spread = x.std(unbiased=False)
    return (x - x.mean()) / spread if spread > 0 else torch.zeros_like(x)


if __name__ == "__main__":
    main()
