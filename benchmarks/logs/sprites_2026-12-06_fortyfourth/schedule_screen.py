"""Does a later-chunk schedule that ends at lower noise give back the own-window candidates' sharpness? (forty-fourth
session, a CPU screen on tuning prompts; not a judgement: no rule, few videos.)

Along OW's own sampling its x0 predictions are softer than OF2's at every step, least at the last (sigma 0.222,
forty-third session, own_steps_sharpness.py): the low-noise steps give back most of what the high-noise ones
soften. A schedule of the same 8 steps spread evenly in sigma (1, 0.875, ..., 0.125) moves the last two steps
lower at no cost in forwards. Plain videos of WEIGHTS with the model's schedule ("own") or that one ("even");
every metric of evaluate_video and the sharpness of the chunks after the first, stored per video as JSON.

    python .../schedule_screen.py WEIGHTS {own,even} OUT.json [--num-prompts 16] [--offset 32] [--seed 5]
    python .../schedule_screen.py --compare BASE.json OTHER.json [OTHER.json ...]
"""
import argparse
import json

import torch

from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import SHARPNESS_REF, blur_sharpness, evaluate_video
from streamt1.metrics.stats import paired_difference
from streamt1.search.beam import StreamSearch
from streamt1.sprites.model import SpritesVideoModel, build_generator

SHIFT = 2.0  # the Sprites models' StreamConfig.shift, which warps these timesteps into sigmas
EVEN_SIGMAS = [1 - k / 8 for k in range(8)]
SCHEDULES = {"own": None, "even": [round(1000 * s / (SHIFT - (SHIFT - 1) * s), 1) for s in EVEN_SIGMAS]}


def scores(frames: torch.Tensor, prompt: str) -> dict[str, float]:
    frames = frames.float().div(255)
    out = evaluate_video(frames, prompt)
    sharp = (blur_sharpness(frames[3:].mean(1, keepdim=True)) / SHARPNESS_REF).clamp(0, 1)
    return {**out, "sharpness_later_chunks": float(sharp.mean())}


def generate(weights: str, schedule: str, out: str, num_prompts: int, offset: int, seed: int, frames: int) -> None:
    prompts = eval_prompts(offset + num_prompts, frames)[offset:]
    config = build_config("none", None, [], num_frames=frames, weights=weights, device="cpu", backend="sprites",
                          denoising_steps=SCHEDULES[schedule])
    stream = {"global_sink": config.search.global_sink, **config.run.stream_overrides}
    search = StreamSearch(build_generator(SpritesVideoModel.from_pretrained(weights), stream), config.search, None, None,
                          method="none", settings={})
    rows = [scores(search.run(p, frames, seed, progress=False).frames, p) for p in prompts]
    with open(out, "w") as f:
        json.dump({"weights": weights, "schedule": schedule, "steps": SCHEDULES[schedule], "prompts": prompts,
                   "seed": seed, "frames": frames, "scores": rows}, f, indent=1)


def compare(base: str, others: list[str]) -> None:
    b = json.load(open(base))
    print(f"base {b['weights']} ({b['schedule']} schedule); prompts {len(b['prompts'])}, seed {b['seed']}, "
          f"{b['frames']} frames, CPU float32; other - base, points, 95 %")
    for path in others:
        o = json.load(open(path))
        assert o["prompts"] == b["prompts"] and o["seed"] == b["seed"]
        print(f"{o['weights']} ({o['schedule']} schedule):")
        for key in b["scores"][0]:
            d = paired_difference({i: r[key] for i, r in enumerate(o["scores"])},
                                  {i: r[key] for i, r in enumerate(b["scores"])})
            mean = 100 * sum(r[key] for r in b["scores"]) / len(b["scores"])
            print(f"  {key:<24} base {mean:5.1f}  {100 * d.mean:+5.1f} ± {100 * d.half_width:.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("args", nargs="+")
    p.add_argument("--compare", action="store_true")
    p.add_argument("--num-prompts", type=int, default=16)
    p.add_argument("--offset", type=int, default=32)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--num-frames", type=int, default=96)
    a = p.parse_args()
    if a.compare:
        compare(a.args[0], a.args[1:])
    else:
        weights, schedule, out = a.args
        generate(weights, schedule, out, a.num_prompts, a.offset, a.seed, a.num_frames)


if __name__ == "__main__":
    main()
