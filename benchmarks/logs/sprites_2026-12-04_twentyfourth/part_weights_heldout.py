"""Held-out check of the part-weights lead (`part_weights.py`): the committed rewards' Stream-T1 search
on the tuning prompts (32-47 x seeds 0, 1, 33 frames, CPU), its own candidates judged by the same
rewards with the video reward's parts reweighted (motion 0.5, coherence 2, alignment 2: the best of
the 27 weightings on the train-split recording, fixed before this run; and motion 0, the others 1).

    python benchmarks/logs/sprites_2026-12-04_twentyfourth/part_weights_heldout.py
"""
import torch

from streamt1 import api
from streamt1.agreement import sibling_agreement
from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.interfaces import VideoScore
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR, VIDEO_PARTS, SpritesImageReward, SpritesVideoReward


class ReweightedVideoReward(SpritesVideoReward):
    """The committed video reward whose overall is a weighted sum of its parts."""

    weights: tuple[float, ...] = (1.0, 1.0, 1.0)

    def score_planned(self, frames, prompts, fps) -> VideoScore:
        score = super().score_planned(frames, prompts, fps)
        overall = sum(w * score.parts[name] for w, name in zip(self.weights, VIDEO_PARTS))
        return VideoScore(overall=overall, parts=score.parts)


def judge(weights: tuple[float, ...]):
    video = ReweightedVideoReward.from_pretrained(DEFAULT_WEIGHTS_DIR, "cpu")
    video.weights = weights
    return SpritesImageReward.from_pretrained(DEFAULT_WEIGHTS_DIR, "cpu"), video


torch.set_num_threads(2)
config = build_config("stream-t1", None, [], num_frames=33, device="cpu", backend="sprites")
components = api.load_components(config)
search = api.make_search(config, components)
prompts = eval_prompts(48, 33)[32:]
judges = {"motion0.5-others2": judge((0.5, 2.0, 2.0)), "no-motion": judge((0.0, 1.0, 1.0))}
result, judged = sibling_agreement(search, prompts, [0, 1], 33, judges=judges)
print(f"committed rewards' own search: agreement {result.agreement:.3f} over {result.pairs} pairs "
      f"(video alone {result.video:.3f})")
for name, j in judged.items():
    diff, low, high = j.difference
    print(f"  {name}: {j.agreement.agreement:.3f} over {j.agreement.pairs} pairs; minus the committed "
          f"{diff:+.3f} [{low:+.3f}, {high:+.3f}]")
