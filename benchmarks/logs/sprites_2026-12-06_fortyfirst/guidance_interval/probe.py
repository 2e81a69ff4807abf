"""Forty-first session, a probe (CPU): classifier-free guidance on the first chunk only inside a noise band
(Kynkaenniemi et al. 2024 apply guidance in a limited interval), the rest of the 32 Euler steps unguided.
The first chunk from the caption alone, the captioned shape's share of frames (sprites_first_chunk.py's
``shape_scores``), scenes 1000... of a split, one noise draw per scene shared by every row:

    python benchmarks/logs/sprites_2026-12-06_fortyfirst/guidance_interval/probe.py --split eval --num-scenes 48

Rows: scale x band (sigma low-high, the flow's noise level); ``x3 0-1`` is the model's own sampling of the
first chunk in one loop (guidance x3 at every step).
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from sprites_first_chunk import SCENE_FRAMES, shape_scores  # noqa: E402

from streamt1.models.sampler import sample_few_step, warp_timesteps  # noqa: E402
from streamt1.sprites.captions import caption  # noqa: E402
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR  # noqa: E402
from streamt1.sprites.model import SpritesVideoModel  # noqa: E402
from streamt1.sprites.world import sample_scene  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--split", default="eval")
p.add_argument("--num-scenes", type=int, default=48)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--rows", default="3:0-1,1:0-1,5:0-1,3:0.5-0.9,5:0.5-0.9,7:0.5-0.9,5:0.6-0.85,7:0.6-0.85,5:0.9-1")
args = p.parse_args()
torch.set_grad_enabled(False)
model = SpritesVideoModel.from_pretrained(DEFAULT_WEIGHTS_DIR).eval()
scenes = [sample_scene(torch.Generator().manual_seed(1000 + i), args.split, num_frames=SCENE_FRAMES)
          for i in range(args.num_scenes)]
n, stream = len(scenes), model.stream
text = model.transformer.encode_text(model.text_encoder([caption(s) for s in scenes]), SCENE_FRAMES)
null = model.transformer.encode_text(model.text_encoder([""] * n), SCENE_FRAMES)
positions = torch.arange(3).repeat(n, 1)
fine = warp_timesteps(torch.linspace(1000, 0, 33)[:-1].tolist(), stream.num_train_timesteps, stream.shift)
latent = model.codec.encode(torch.zeros(1, 3, 3, 64, 64)).shape[1:]
noise = torch.randn((n, *latent), generator=torch.Generator().manual_seed(args.seed))
print(f"{args.split} split, {n} scenes, {sum(len(s.sprites) == 1 for s in scenes)} of one sprite: "
      "detected / shape match / in scenes of one sprite / of more, %")
for row in args.rows.split(","):
    scale, band = row.split(":")
    low, high = (float(v) for v in band.split("-"))

    def flow(x, t, scale=float(scale), low=low, high=high):
        wanted = model.transformer(x, t.expand(n, 3), text, positions, None)
        if scale == 1 or not low <= float(t) / stream.num_train_timesteps <= high:
            return wanted
        return torch.lerp(model.transformer(x, t.expand(n, 3), null, positions, None), wanted, scale)

    latents = sample_few_step(flow, noise.clone(), fine, stream.num_train_timesteps, None, "euler")
    scores = shape_scores(model.codec.decode_chunk(latents, None)[0], scenes)
    print(f"  x{scale} sigma {band:9s} " + " ".join(f"{100 * v:5.1f}" for v in scores), flush=True)
