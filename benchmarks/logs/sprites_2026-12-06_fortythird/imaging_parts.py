"""Where a candidate's imaging quality goes (forty-third session: OW's was -1.5 ± 0.6 points below OF2's on the
tuning split): plain videos of two weights on tuning prompts (CPU, float32), imaging quality split into its
sharpness and noise factors (metrics.sprites.imaging_quality = sharpness x cleanliness, per frame), per stretch
of frames, paired over the prompts.

    python benchmarks/logs/sprites_2026-12-06_fortythird/imaging_parts.py BASE_WEIGHTS CANDIDATE_WEIGHTS \
        [--num-prompts 12] [--offset 32] [--seed 5] [--num-frames 96]
"""
import argparse

import torch

from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import NOISE_REF, SHARPNESS_REF, blur_sharpness, noise_sigma
from streamt1.metrics.stats import paired_difference
from streamt1.search.beam import StreamSearch
from streamt1.sprites.model import SpritesVideoModel, build_generator

STRETCHES = ((0, 3), (3, 24), (24, 48), (48, 96))


def parts(frames: torch.Tensor) -> dict[str, float]:
    gray = frames.float().div(255).mean(1, keepdim=True)
    sharp = (blur_sharpness(gray) / SHARPNESS_REF).clamp(0, 1)
    clean = (1 - noise_sigma(gray) / NOISE_REF).clamp(0, 1)
    out = {"imaging": float((sharp * clean).mean()), "sharpness": float(sharp.mean()), "cleanliness": float(clean.mean())}
    for a, b in STRETCHES:
        if a < len(frames):
            out[f"imaging {a}-{min(b, len(frames)) - 1}"] = float((sharp * clean)[a:b].mean())
    return out


def run(weights: str, prompts: list[str], frames: int, seed: int) -> list[dict[str, float]]:
    config = build_config("none", None, [], num_frames=frames, weights=weights, device="cpu", backend="sprites")
    stream = {"global_sink": config.search.global_sink, **config.run.stream_overrides}
    search = StreamSearch(build_generator(SpritesVideoModel.from_pretrained(weights), stream), config.search, None, None,
                          method="none", settings={})
    return [parts(search.run(p, frames, seed, progress=False).frames) for p in prompts]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("base")
    p.add_argument("candidate")
    p.add_argument("--num-prompts", type=int, default=12)
    p.add_argument("--offset", type=int, default=32)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--num-frames", type=int, default=96)
    args = p.parse_args()
    prompts = eval_prompts(args.offset + args.num_prompts, args.num_frames)[args.offset:]
    base, cand = (run(w, prompts, args.num_frames, args.seed) for w in (args.base, args.candidate))
    print(f"{args.candidate} - {args.base}, plain, prompts {args.offset}-{args.offset + args.num_prompts - 1}, "
          f"seed {args.seed}, {args.num_frames} frames, CPU float32 (points, 95 %):")
    for key in base[0]:
        d = paired_difference({i: c[key] for i, c in enumerate(cand)}, {i: b[key] for i, b in enumerate(base)})
        mean = 100 * sum(b[key] for b in base) / len(base)
        print(f"  {key:<18} base {mean:5.1f}  difference {100 * d.mean:+5.1f} ± {100 * d.half_width:.1f}")


if __name__ == "__main__":
    main()
