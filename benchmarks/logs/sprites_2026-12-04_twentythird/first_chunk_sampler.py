"""Does a stochastic sampler draw the captioned shapes where the Euler ODE does not? (twenty-third session)

The Sprites model's first chunk, from the caption alone, draws the captioned shape in ~20 % of frames
(chance 17 %), its sprites ragged clouds: a model far from the ideal denoiser at mid noise, followed
deterministically. Samplers that re-inject noise (a DDIM-like eta, per step; eta = 1 is the x0-and-fresh-noise
"renoise" sampler of Self-Forcing / LongLive) correct part of an imperfect model's drift. Here the
first chunk of N scenes per split (scene seeds 1000, 1001, ...; canonical captions) is drawn with the
model's own guidance (x3 against the empty caption) over the same 32 shifted steps, and with

    x_next = (1 - s') x0_hat + s' (sqrt(1 - eta^2) eps_hat + eta * fresh noise)

(eta = 0 is the Euler step exactly), and scored as benchmarks/sprites_first_chunk.py scores it.

    python benchmarks/logs/sprites_2026-12-04_twentythird/first_chunk_sampler.py [--num-scenes 40] [--etas 0,0.3,0.6,1]
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchmarks/
from sprites_first_chunk import SCENE_FRAMES, shape_scores  # noqa: E402

from streamt1.models.sampler import warp_timesteps  # noqa: E402
from streamt1.sprites.captions import caption  # noqa: E402
from streamt1.sprites.model import SpritesVideoModel  # noqa: E402
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR  # noqa: E402
from streamt1.sprites.world import sample_scene  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
p.add_argument("--num-scenes", type=int, default=40)
p.add_argument("--splits", default="train,eval")
p.add_argument("--etas", default="0,0.3,0.6,1")
p.add_argument("--steps", type=int, default=32)
p.add_argument("--seed", type=int, default=0)
args = p.parse_args()
torch.set_num_threads(2)
model = SpritesVideoModel.from_pretrained(args.weights).eval()
stream = model.stream
sigmas = warp_timesteps(torch.linspace(1000, 0, args.steps + 1)[:-1].tolist(), stream.num_train_timesteps,
                        stream.shift) / stream.num_train_timesteps
sigmas = torch.cat([sigmas, torch.zeros(1)])
print(f"{args.weights}: first chunk from the caption, guidance x{stream.guidance_scale:g}, {args.steps} steps; "
      "detected / shape match / in scenes of one sprite / of more, %")
for split in args.splits.split(","):
    scenes = [sample_scene(torch.Generator().manual_seed(1000 + i), split, num_frames=SCENE_FRAMES)
              for i in range(args.num_scenes)]
    n = len(scenes)
    with torch.no_grad():
        text = model.transformer.encode_text(model.text_encoder([caption(s) for s in scenes]), SCENE_FRAMES)
        empty = model.transformer.encode_text(model.text_encoder([""] * n), SCENE_FRAMES)
        positions = torch.arange(3).repeat(n, 1)

        def flow(x, sigma):
            t = torch.full((n, 3), float(sigma) * stream.num_train_timesteps)
            cond = model.transformer(x, t, text, positions, None)
            uncond = model.transformer(x, t, empty, positions, None)
            return torch.lerp(uncond, cond, stream.guidance_scale)

        for eta in (float(e) for e in args.etas.split(",")):
            g = torch.Generator().manual_seed(args.seed)
            shape = (n, model.transformer.config.in_dim, 3, 16, 16)
            x = torch.randn(shape, generator=g)
            for sigma, nxt in zip(sigmas[:-1], sigmas[1:]):
                v = flow(x, sigma)
                x0, eps = x - sigma * v, x + (1 - sigma) * v
                mixed = (1 - eta ** 2) ** 0.5 * eps + eta * torch.randn(shape, generator=g) if nxt > 0 else eps
                x = (1 - nxt) * x0 + nxt * mixed
            frames = model.codec.decode_chunk(x, None)[0].float().clamp(0, 1)
            print(f"  {split:5s} eta {eta:3.1f}  " + " ".join(f"{100 * v:5.1f}" for v in shape_scores(frames, scenes)),
                  flush=True)
