"""How much the shape word should matter: the ideal denoiser of a one-sprite first frame against the model.

    python benchmarks/sprites_ideal_denoiser.py --weights DIR [--num-scenes 8] [--split train]

DIR holds PixelUnshuffle weights, e.g. G (the default before H): ``mkdir G && for f in
sprites_model.safetensors sprites_model.json; do git show 71e43ac:src/streamt1/sprites/weights/$f > G/$f;
done``. The built-in weights H use a learned codec, whose latents the ideal denoiser cannot follow.

A one-sprite caption fixes the background, the sprite's colour, size and shape; only the position is
unknown (uniform). So the ideal (Bayes) denoiser of the first frame, ``E[x0 | x_t, caption]``, is a
softmax-weighted mean over the sprite at every pixel centre (the world's own renderer, frame 0,
PixelUnshuffle's ``2x - 1`` scale). For one-sprite scenes of a split (no events, no grow / shrink;
scene seeds 5000, 5001, ...) and renders noised to sigma 0.9 / 0.7 / 0.5 / 0.3, prints the means of:

* ``ideal %``: the relative change of the ideal flow ``(x_t - E[x0|x_t]) / sigma`` when the caption's
  shape word changes (three places on in ``SHAPES``), the same measure as the model's caption
  sensitivity in ``sprites_first_chunk.py``;
* ``model %``: the model's, on the same noisy frame (the first of its chunk);
* ``cosine``: between the model's and the ideal's change of the flow with the word (does the model's
  small change point where the ideal's does? guidance can only amplify what points the right way);
* ``shape cuts ideal MSE %``: how much knowing the shape lowers the ideal x0 error against a denoiser
  that knows everything but the shape (a mixture over the six shapes): the signal the flow-matching
  loss carries about the shape word at that noise level;
* ``model MSE / shape-blind ideal``: the model's x0 error on that frame over the shape-blind ideal's.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from sprites_first_chunk import swap
from streamt1.sprites.captions import caption
from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.world import (FRAME_SIZE, SHAPES, SIZES, color_tensor, render_at, render_backgrounds,
                                    sample_scene, sprite_coverage)

SIGMAS = (0.9, 0.7, 0.5, 0.3)


def one_sprite_scenes(count: int, split: str) -> list:
    """Scenes of one sprite whose first frame depends only on caption and position (scale 1, no events)."""
    scenes, seed = [], 5000
    while len(scenes) < count:
        scene = sample_scene(torch.Generator().manual_seed(seed), split, num_frames=90)
        seed += 1
        if len(scene.sprites) == 1 and not scene.events and scene.sprites[0].motion not in ("grow", "shrink"):
            scenes.append(scene)
    return scenes


def placements(scene, shape: str) -> torch.Tensor:
    """The scene's first frame with its sprite drawn as ``shape`` at every pixel centre -> ``[H*W, 3*H*W]``."""
    centres = (torch.arange(FRAME_SIZE, dtype=torch.float32) + 0.5) / FRAME_SIZE
    cx, cy = centres.repeat(FRAME_SIZE), centres.repeat_interleave(FRAME_SIZE)
    sprite = scene.sprites[0]
    coverage = sprite_coverage(shape, cx, cy, torch.full_like(cx, SIZES[sprite.size]))  # [N, H, W]
    background = render_backgrounds(scene, torch.zeros(1))[0]  # [3, H, W]
    frames = background + (color_tensor(sprite.color)[:, None, None] - background) * coverage[:, None]
    return (frames * 2 - 1).flatten(1)


def ideal_x0(x_t: torch.Tensor, hypotheses: torch.Tensor, sigma: float) -> torch.Tensor:
    """``E[x0 | x_t]`` under a uniform prior over ``hypotheses`` and ``x_t = (1 - sigma) x0 + sigma eps``."""
    distance = ((x_t[None] - (1 - sigma) * hypotheses) ** 2).sum(1)
    return torch.softmax(-distance / (2 * sigma**2), 0) @ hypotheses


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", required=True, help="PixelUnshuffle Sprites weights, e.g. G (see above)")
    p.add_argument("--num-scenes", type=int, default=8)
    p.add_argument("--split", default="train", choices=("train", "eval"))
    args = p.parse_args()
    torch.set_grad_enabled(False)
    model = SpritesVideoModel.from_pretrained(args.weights).eval()
    if model.autoencoder is not None:
        raise SystemExit(f"{args.weights} uses a learned codec; this comparison needs PixelUnshuffle weights "
                         "(the ideal denoiser works in pixel latents), e.g. G: see this script's docstring")
    transformer, factor = model.transformer, model.codec.spatial_factor
    rows: dict[float, list[tuple[float, ...]]] = {sigma: [] for sigma in SIGMAS}
    for scene in one_sprite_scenes(args.num_scenes, args.split):
        swapped = swap(scene, "shape")
        own, other = placements(scene, scene.sprites[0].shape), placements(scene, swapped.sprites[0].shape)
        any_shape = torch.cat([placements(scene, shape) for shape in SHAPES])
        frames = render_at(scene, torch.arange(3))
        x0 = model.codec.encode(frames[None])  # [1, C, 3, h, w]
        x0_pixels = (frames[0] * 2 - 1).flatten()
        texts = [transformer.encode_text(model.text_encoder([caption(s)]), 90) for s in (scene, swapped)]  # the scenes' length
        positions = torch.arange(3)[None]
        for sigma in SIGMAS:
            x_t = (1 - sigma) * x0 + sigma * torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
            x_t_pixels = F.pixel_shuffle(x_t[:, :, 0], factor)[0].flatten()  # frame 0, without the codec's clamp
            flows = [(x_t_pixels - ideal_x0(x_t_pixels, h, sigma)) / sigma for h in (own, other)]
            ideal_change = flows[0] - flows[1]
            ideal = float(ideal_change.norm() / flows[0].norm())
            t = torch.full((1, 3), sigma * model.stream.num_train_timesteps)
            predicted = [transformer(x_t, t, text, positions, None)[:, :, 0] for text in texts]
            ours = float((predicted[0] - predicted[1]).norm() / predicted[0].norm())
            our_change = F.pixel_shuffle(predicted[0] - predicted[1], factor)[0].flatten()
            cosine = float(F.cosine_similarity(our_change, ideal_change, 0))
            blind_error = ((x0_pixels - ideal_x0(x_t_pixels, any_shape, sigma)) ** 2).sum()
            knowing = ((x0_pixels - ideal_x0(x_t_pixels, own, sigma)) ** 2).sum()
            model_x0 = F.pixel_shuffle(x_t[:, :, 0] - sigma * predicted[0], factor)[0].flatten()
            rows[sigma].append((ideal, ours, cosine, float(1 - knowing / blind_error),
                                float(((x0_pixels - model_x0) ** 2).sum() / blind_error)))
    print(f"{args.weights} ({args.split} split, {args.num_scenes} one-sprite scenes, first frame)")
    print("sigma | ideal % | model % | cosine | shape cuts ideal MSE % | model MSE / shape-blind ideal")
    for sigma, values in rows.items():
        mean = torch.tensor(values).mean(0)
        print(f"{sigma} | {100 * mean[0]:.2f} | {100 * mean[1]:.2f} | {mean[2]:.3f} | {100 * mean[3]:.1f} | {mean[4]:.2f}")


if __name__ == "__main__":
    main()
