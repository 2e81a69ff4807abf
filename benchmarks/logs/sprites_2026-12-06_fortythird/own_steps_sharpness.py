"""How sharp each sampler step's x0 prediction is along a model's own plain generation (the chunks after the
first), for two weights on the same tuning prompts and noise (CPU, float32): where OW's blur enters its own
sampling, to set beside render_denoising.py (the same predictions from noised renders).

    python benchmarks/logs/sprites_2026-12-06_fortythird/own_steps_sharpness.py BASE_WEIGHTS CANDIDATE_WEIGHTS \
        [--num-prompts 8] [--offset 32] [--seed 5] [--num-frames 24]
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from render_denoising import sharpness  # noqa: E402

from streamt1.evaluate import eval_prompts  # noqa: E402
from streamt1.interfaces import Route, SinkLimits  # noqa: E402
from streamt1.metrics.stats import paired_difference  # noqa: E402
from streamt1.sprites.model import SpritesVideoModel, build_generator  # noqa: E402


@torch.no_grad()
def step_sharpness(weights: str, prompt: str, frames: int, seed: int) -> list[float]:
    """Mean sharpness of the x0 prediction after each later-chunk step, over the chunks after the first."""
    model = SpritesVideoModel.from_pretrained(weights).eval()
    gen = build_generator(model)
    stream, c = model.stream, model.stream.chunk_frames
    g = torch.Generator().manual_seed(seed)
    state = gen.initial_state(gen.encode_prompt(prompt, frames), 1)
    rows, limits = torch.zeros(1, dtype=torch.long), SinkLimits(stream.sink_frames, 0.0)
    per_step: list[list[float]] = [[] for _ in gen.timesteps]
    for k in range(frames // c):
        x = torch.randn((1, *gen.spec.latent_shape), generator=g)
        if k == 0:
            x = gen.denoise(state, rows, x, [g])
        else:
            for step in range(len(gen.timesteps)):
                x, x0 = gen.denoise_steps(state, rows, x, [g], step, step + 1)
                frames_x0 = model.codec.decode_chunk(x0, None)[0].float()
                per_step[step].append(float(sharpness(frames_x0)))
        if (k + 1) * c < frames:
            state, _ = gen.commit(state, rows, x, gen.decode(state, rows, x), [Route.DISCARD], limits)
    return [sum(v) / len(v) for v in per_step]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("base")
    p.add_argument("candidate")
    p.add_argument("--num-prompts", type=int, default=8)
    p.add_argument("--offset", type=int, default=32)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--num-frames", type=int, default=24)
    args = p.parse_args()
    prompts = eval_prompts(args.offset + args.num_prompts, args.num_frames)[args.offset:]
    runs = {w: [step_sharpness(w, prompt, args.num_frames, args.seed) for prompt in prompts]
            for w in (args.base, args.candidate)}
    model = SpritesVideoModel.from_pretrained(args.base)
    sigmas = build_generator(model).timesteps / model.stream.num_train_timesteps
    print(f"{args.candidate} - {args.base}: sharpness of each step's x0 prediction in the chunks after the first of "
          f"their own plain generation (prompts {args.offset}-{args.offset + args.num_prompts - 1}, seed {args.seed}, "
          f"{args.num_frames} frames, CPU; points, 95 %)")
    for step, sigma in enumerate(sigmas.tolist()):
        base = {i: r[step] for i, r in enumerate(runs[args.base])}
        d = paired_difference({i: r[step] for i, r in enumerate(runs[args.candidate])}, base)
        print(f"  step {step} (sigma {sigma:.3f}): base {100 * sum(base.values()) / len(base):5.1f}, "
              f"difference {100 * d.mean:+5.1f} ± {100 * d.half_width:.1f}")


if __name__ == "__main__":
    main()
