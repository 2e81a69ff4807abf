"""Train the Sprites autoencoder, the learned latent a video model can train on, on rendered frames.

The autoencoder is :mod:`streamt1.sprites.codec`; the frames come from train-split scenes.

    streamt1 sprites train-codec --out runs/codec --max-minutes 2 --batch-size 32 --workers 14 --device cuda

Each item is ``frames_per_item`` random frames of one random train-split scene. The loss is the
edge-weighted L1 + MSE of the reconstruction (:func:`reconstruction_loss`) plus a small penalty on the
latents' size; the decoder sees the latents with a little noise (``latent_noise`` of their batch std),
so that the video model's imperfect latents still decode to clean shapes. At the end the latents'
per-channel statistics are stored for normalisation, and the card records, on held-out (eval-split)
clips, the reconstruction's PSNR and the world's ground-truth metrics of the renders and of their
reconstructions: the ceiling the codec leaves a video model.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import torch
from torch import Tensor

from streamt1.devices import resolve_device
from streamt1.models.checkpoints import load_checked
from streamt1.outputs.atomic import check_writable_folder
from streamt1.sprites.captions import caption
from streamt1.sprites.codec import AutoencoderCodec, AutoencoderConfig, SpritesAutoencoder, reconstruction_loss
from streamt1.sprites.files import load_weights, readable_weights, save_weights, weights_and_card
from streamt1.sprites.training import (SampleStream, check_loss, check_settings, check_weights, config_from_flags,
                                      ema_decay_at, lr_factor, run_progress, sample_loader, training_parser,
                                      update_ema)
from streamt1.sprites.world import FPS, render, render_at, sample_scene

logger = logging.getLogger(__name__)

CODEC_STEM = "sprites_codec"
TRAIN_COMMAND = "streamt1 sprites train-codec"


@dataclass(frozen=True)
class TrainCodecConfig:
    steps: int = 20000
    batch_size: int = 32  # items (scenes) per step
    frames_per_item: int = 8
    lr: float = 2e-3
    weight_decay: float = 0.0
    seed: int = 0
    workers: int = 8
    latent_noise: float = 0.1  # std of the noise added to the latents before decoding, in their batch std
    latent_penalty: float = 1e-3  # weight of the mean squared raw latent
    ema_decay: float = 0.999
    log_every: int = 100
    max_minutes: float | None = None
    eval_clips: int = 16  # held-out clips of eval_frames frames for the card
    eval_frames: int = 48
    model: AutoencoderConfig = field(default_factory=AutoencoderConfig)

    def __post_init__(self) -> None:
        check_settings(self)
        for name in ("steps", "batch_size", "frames_per_item", "log_every", "eval_clips"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if self.eval_frames < 3:
            raise ValueError(f"eval_frames={self.eval_frames} must be >= 3 (the metrics score motion)")
        if self.latent_noise < 0 or self.latent_penalty < 0:
            raise ValueError("latent_noise and latent_penalty must be >= 0")
        if self.workers < 0:
            raise ValueError(f"workers={self.workers} must be >= 0 (0: render in this process)")


def sample_frames(g: torch.Generator, config: TrainCodecConfig) -> Tensor:
    """``frames_per_item`` random frames ``[F, 3, 64, 64]`` of one random train-split scene."""
    length = 30 * FPS
    scene = sample_scene(g, "train", num_frames=length)
    return render_at(scene, torch.randint(length, (config.frames_per_item,), generator=g))


def codec_loss(ae: SpritesAutoencoder, images: Tensor, config: TrainCodecConfig, generator: torch.Generator) -> Tensor:
    z = ae.encode_raw(images)
    noisy = z + config.latent_noise * z.detach().std() * torch.randn(z.shape, generator=generator, device=z.device)
    return reconstruction_loss(images, ae.decode_raw(noisy)) + config.latent_penalty * z.square().mean()


def save_codec(ae: SpritesAutoencoder, out: str | Path, card: dict) -> Path:
    """Write ``sprites_codec.safetensors`` (float32: it is small) and ``sprites_codec.json`` atomically."""
    return save_weights({k: v.detach().cpu().contiguous() for k, v in ae.state_dict().items()},
                        Path(out) / f"{CODEC_STEM}.safetensors", {"codec_config": ae.config.to_dict(), **card})


def load_codec(path: str | Path) -> SpritesAutoencoder:
    """A trained autoencoder from a folder with ``sprites_codec.*`` or the ``.safetensors`` file."""
    weights, card_path = weights_and_card(path, CODEC_STEM, "the Sprites autoencoder", TRAIN_COMMAND)
    with readable_weights(weights, card_path, TRAIN_COMMAND):
        card = json.loads(card_path.read_text())
        ae = SpritesAutoencoder(AutoencoderConfig.from_dict(card["codec_config"]))
        load_checked(ae, load_weights(weights, card, TRAIN_COMMAND), weights)
    return ae.eval()


@torch.no_grad()
def held_out_report(ae: SpritesAutoencoder, config: TrainCodecConfig) -> dict:
    """PSNR of reconstructed eval-split clips, and the ground-truth metrics of renders vs reconstructions."""
    from streamt1.metrics.sprites import evaluate_video

    codec = AutoencoderCodec(copy.deepcopy(ae).cpu())
    g = torch.Generator().manual_seed(config.seed + 101)
    psnr, rendered, decoded = [], [], []
    for _ in range(config.eval_clips):
        scene = sample_scene(g, "eval", num_frames=config.eval_frames)
        frames = render(scene, config.eval_frames)
        recon = codec.decode_chunk(codec.encode(frames[None]), None)[0][0]
        psnr.append(float(-10 * torch.log10((recon - frames).square().mean().clamp_min(1e-10))))
        rendered.append(evaluate_video(frames, caption(scene), FPS))
        decoded.append(evaluate_video(recon, caption(scene), FPS))
    mean = lambda rows: {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in rows[0]}  # noqa: E731
    return {"psnr_db": round(sum(psnr) / len(psnr), 2), "clips": config.eval_clips, "frames": config.eval_frames,
            "metrics_rendered": mean(rendered), "metrics_reconstructed": mean(decoded)}


def train(config: TrainCodecConfig, out: str | Path, device: str | torch.device = "cpu") -> dict:
    """Train, set the latent statistics, save ``sprites_codec.*`` under ``out`` (EMA weights), return the card."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but CUDA is not available; pass --device cpu")
    torch.manual_seed(config.seed)
    ae = SpritesAutoencoder(config.model).to(device)
    ema = copy.deepcopy(ae).eval().requires_grad_(False)
    opt = torch.optim.AdamW(ae.parameters(), lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.99))
    loader = sample_loader(SampleStream(partial(sample_frames, config=config), config.seed), config.batch_size,
                           config.workers, device)
    noise = torch.Generator(device=device).manual_seed(config.seed)
    history, losses, t0, done = [], [], time.time(), 0
    batches = iter(loader)
    for step in itertools.count():
        frames = next(batches)
        share = run_progress(step, config.steps, time.time() - t0, config.max_minutes)
        if share >= 1:
            break
        for group in opt.param_groups:
            group["lr"] = config.lr * lr_factor(share)
        images = frames.to(device, non_blocking=True).flatten(0, 1)
        loss = codec_loss(ae, images, config, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ae.parameters(), 1.0)
        opt.step()
        update_ema(ema, ae, ema_decay_at(step, config.ema_decay))
        losses.append(check_loss(loss.item(), step + 1, str(out)))
        done = step + 1
        if done % config.log_every == 0:
            history.append({"step": done, "seconds": round(time.time() - t0, 1),
                            "loss": round(sum(losses) / len(losses), 5), "lr": opt.param_groups[0]["lr"]})
            losses.clear()
            logger.info("step %d %s", done, history[-1])
    seconds = time.time() - t0
    check_weights(ema.state_dict(), done, str(out))
    with torch.no_grad():
        stats = torch.cat([ema.encode_raw(next(batches).to(device).flatten(0, 1)) for _ in range(8)])
    ema.set_statistics(stats)
    report = held_out_report(ema, config)
    logger.info("held out: %s", report)
    card = {"training": {"command": TRAIN_COMMAND, "config": {**asdict(config), "model": config.model.to_dict()},
                         "steps": done, "seconds": round(seconds, 1), "device": str(device), "history": history,
                         "weights": "ema"},
            "held_out": report}
    save_codec(ema, out, card)
    return card


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    p = training_parser(__doc__.split("\n")[0], "folder for sprites_codec.safetensors / .json", TrainCodecConfig, prog)
    p.add_argument("--latent-channels", type=int, default=AutoencoderConfig.latent_channels,
                   help="channels of each 16x16 latent frame (the video model's input width)")
    args = p.parse_args(argv)
    check_writable_folder(args.out)  # before the work, not at its save
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = config_from_flags(p, lambda: TrainCodecConfig(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, workers=args.workers, seed=args.seed,
        max_minutes=args.max_minutes, log_every=max(1, min(TrainCodecConfig.log_every, args.steps // 20)),
        model=AutoencoderConfig(latent_channels=args.latent_channels)))
    train(config, args.out, resolve_device(args.device, "--device"))


if __name__ == "__main__":
    main()
