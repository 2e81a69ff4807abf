"""Is OW's blur its denoising in general, or only along its own sampling? Both weights denoise the same
renders: train-split scenes, 24 frames, the chunks after the first noised at one sigma after clean rendered
context (teacher forcing, as training sees them), the x0 prediction decoded and scored for sharpness
(metrics.sprites' factor of imaging quality) against the render's, and its pixel error (CPU, float32, paired
over the scenes).

    python benchmarks/logs/sprites_2026-12-06_fortythird/render_denoising.py BASE_WEIGHTS CANDIDATE_WEIGHTS \
        [--scenes 32] [--sigmas 0.222,0.4,0.545,0.769]
"""
import argparse
import dataclasses

import torch

from streamt1.metrics.sprites import SHARPNESS_REF, blur_sharpness
from streamt1.metrics.stats import paired_difference
from streamt1.sprites.captions import caption
from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.train import TrainVideoConfig, predict_flow
from streamt1.sprites.world import render, sample_scene

FRAMES = 24


def sharpness(frames: torch.Tensor) -> torch.Tensor:
    """Per item: the mean sharpness factor of frames ``[N, T, 3, H, W]`` in 0-1."""
    gray = frames.clamp(0, 1).mean(2, keepdim=True)
    return torch.stack([(blur_sharpness(g) / SHARPNESS_REF).clamp(0, 1).mean() for g in gray])


@torch.no_grad()
def denoised(model: SpritesVideoModel, video: torch.Tensor, captions: list[str], lengths: torch.Tensor, sigma: float,
             noise: torch.Tensor) -> torch.Tensor:
    config = dataclasses.replace(TrainVideoConfig(), attention="sdpa")
    x0 = model.codec.encode(video)
    c = model.stream.chunk_frames
    sigmas = torch.full((len(video), FRAMES), sigma)
    sigmas[:, :c] = 0.0  # the first chunk is the clean start the others continue
    s = sigmas[:, None, :, None, None]
    x_t = (1 - s) * x0 + s * noise
    text = model.transformer.encode_text(model.text_encoder(captions), lengths)
    positions = torch.arange(FRAMES).repeat(len(video), 1)
    flow = predict_flow(model, x0, x_t, sigmas * 1000, text, positions, config)
    return model.codec.decode_chunk(x_t - s * flow, None)[0].float()[:, c:]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("base")
    p.add_argument("candidate")
    p.add_argument("--scenes", type=int, default=32)
    p.add_argument("--sigmas", default="0.222,0.4,0.545,0.769")
    args = p.parse_args()
    g = torch.Generator().manual_seed(43)
    lengths = torch.randint(FRAMES + 3, 480, (args.scenes,), generator=g)
    scenes = [sample_scene(g, "train", num_frames=int(n)) for n in lengths]
    captions = [caption(scene, g) for scene in scenes]
    video = torch.stack([render(scene, FRAMES) for scene in scenes]).clamp(0, 1)  # [N, T, 3, 64, 64]
    models = {name: SpritesVideoModel.from_pretrained(w).eval() for name, w in (("base", args.base),
                                                                                 ("candidate", args.candidate))}
    truth = video[:, models["base"].stream.chunk_frames:]
    latent_shape = models["base"].codec.encode(video).shape
    print(f"{args.candidate} - {args.base}: x0 predictions of {args.scenes} rendered train-split scenes, chunks 2-8 "
          f"noised at sigma, after clean rendered context (points, 95 %); render sharpness "
          f"{100 * float(sharpness(truth).mean()):.1f}")
    for sigma in (float(s) for s in args.sigmas.split(",")):
        noise = torch.randn(latent_shape, generator=g)  # one draw per sigma, the same for both models
        got = {name: denoised(m, video, captions, lengths, sigma, noise) for name, m in models.items()}
        sharp = {name: sharpness(x) for name, x in got.items()}
        error = {name: (x - truth).abs().flatten(1).mean(1) for name, x in got.items()}
        d_sharp = paired_difference(dict(enumerate(sharp["candidate"].tolist())), dict(enumerate(sharp["base"].tolist())))
        d_err = paired_difference(dict(enumerate(error["candidate"].tolist())), dict(enumerate(error["base"].tolist())))
        print(f"  sigma {sigma:.3f}: base sharpness {100 * float(sharp['base'].mean()):5.1f}, difference "
              f"{100 * d_sharp.mean:+5.1f} ± {100 * d_sharp.half_width:.1f}; base pixel error "
              f"{100 * float(error['base'].mean()):5.2f}, difference {100 * d_err.mean:+5.2f} ± {100 * d_err.half_width:.2f}",
              flush=True)


if __name__ == "__main__":
    main()
