"""Train the track reward's perception (:mod:`streamt1.sprites.track_reward`) to see what the ground truth sees.

    streamt1 sprites train-track-reward --out DIR [--record SIBLINGS_DIR ...] [--renders 512]

Clips: the reward windows of recorded sibling groups (:mod:`streamt1.sprites.siblings`, train-split
scenes: the model's own candidates) and rendered train-split clips with random blur, noise and colour
casts. Every target is the ground truth's own reading of the clip's pixels under its caption
(:mod:`streamt1.metrics.sprites`), each learned part on its own target, one after the other:

1. the segmenter: :func:`~streamt1.metrics.sprites.color_mask` of sampled pixels (from the clips,
   near each colour, and uniform) for every colour word;
2. the detector: whether the ground truth counts the sprite as seen, from the learned mask's area;
3. the shape classifier: the best-matching shape template of the ground truth's mask, per frame,
   from the learned mask's scale-normalised crop;
4. the motion scorer: :func:`~streamt1.metrics.sprites.motion_match` of the ground truth's track for
   every motion word, from the learned track;
5. the background decoder: every background the world can draw.

The scene files of the tuning split (``scene i % 8 == 7``) are held out: the card reports, there, the
reward's pairwise agreement with the fused ground truth on sibling pairs (the measure of
:mod:`streamt1.agreement`) beside the recording rewards' own.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from streamt1.agreement import pairwise_agreement
from streamt1.devices import resolve_device
from streamt1.metrics.sprites import (
    color_mask,
    min_detect_area,
    motion_match,
    normalized_crops,
    shape_frames,
    template_ious,
    track_sprite,
)
from streamt1.outputs.atomic import check_writable_folder
from streamt1.sprites.siblings import SiblingGroup, load_groups
from streamt1.sprites.track_reward import (
    COLOURS,
    TrackJudge,
    TrackPerception,
    TrackRewardConfig,
    detect_cell,
    motion_features,
    save_perception,
    scene_of,
    video_overall,
)
from streamt1.sprites.captions import caption
from streamt1.sprites.training import add_device_option, config_from_flags
from streamt1.sprites.world import (
    BACKGROUNDS,
    COLORS,
    FPS,
    FRAME_SIZE,
    MOTIONS,
    SHAPES,
    SIZES,
    BackgroundSpec,
    render,
    render_background,
    sample_scene,
)

logger = logging.getLogger(__name__)

RENDER_SEED = 9_000_000  # rendered scenes' seeds, apart from the recorded and evaluated ones


@dataclass(frozen=True)
class TrainTrackConfig:
    renders: int = 512  # rendered train-split clips added to the recorded windows
    render_frames: int = 32
    max_windows: int = 4000  # recorded windows used (spread over the groups), to bound the time
    segment_steps: int = 3000
    head_steps: int = 3000
    background_steps: int = 1500
    batch_size: int = 256
    lr: float = 3e-3
    seed: int = 0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            least = 0 if name in ("renders", "max_windows", "seed") else 1
            if name == "lr" and not value > 0 or name != "lr" and value < least:
                raise ValueError(f"{name}={value} must be {'> 0' if name == 'lr' else f'>= {least}'}")


@dataclass
class Clip:
    frames: Tensor  # [T, 3, H, W] float in [0, 1]
    prompt: str
    fps: float


def degrade(frames: Tensor, g: torch.Generator) -> Tensor:
    """A render with the model's kinds of error: a colour cast, blur and noise, each of random strength."""
    cast = 1 + 0.15 * (torch.rand(3, generator=g) * 2 - 1)
    shift = 0.06 * (torch.rand(3, generator=g) * 2 - 1)
    x = frames * cast[None, :, None, None] + shift[None, :, None, None]
    blur = float(torch.rand(1, generator=g))
    if blur > 0.3:
        x = (1 - blur) * x + blur * F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    x = x + 0.04 * float(torch.rand(1, generator=g)) * torch.randn(x.shape, generator=g)
    return x.clamp(0, 1)


def rendered_clips(count: int, num_frames: int, seed: int) -> list[Clip]:
    """Train-split scenes (never a held-out colour x shape pair), rendered and degraded."""
    clips = []
    for i in range(count):
        g = torch.Generator().manual_seed(RENDER_SEED + seed * 100_000 + i)
        scene = sample_scene(g, "train", num_frames=num_frames)
        clips.append(Clip(degrade(render(scene, num_frames), g), caption(scene, g), float(FPS)))
    return clips


def recorded_clips(groups: Sequence[SiblingGroup], limit: int) -> list[Clip]:
    """Up to ``limit`` reward windows spread evenly over the groups' candidates."""
    if limit == 0:
        return []
    windows = [(g, i) for g in groups for i in range(len(g))]
    step = max(1, math.ceil(len(windows) / limit))
    out = []
    for g, i in windows[::step]:
        clip = torch.cat([g.histories[int(g.parents[i])], g.chunks[i]])
        out.append(Clip(clip.float() / 255, g.prompt, g.fps))
    return out


# ---------------------------------------------------------------------- 1. segmenter
def pixel_pool(clips: Sequence[Clip], per_clip: int, g: torch.Generator) -> Tensor:
    """``[N, 3]``: pixels of the clips, pixels near every colour, and uniform ones (a third each)."""
    taken = []
    for clip in clips:
        flat = clip.frames.permute(0, 2, 3, 1).reshape(-1, 3)
        taken.append(flat[torch.randint(len(flat), (per_clip,), generator=g)])
    seen = torch.cat(taken)
    centres = torch.tensor(list(COLORS.values()))[torch.randint(len(COLORS), (len(seen),), generator=g)]
    near = (centres + 0.25 * torch.randn(centres.shape, generator=g)).clamp(0, 1)
    return torch.cat([seen, near, torch.rand(len(seen), 3, generator=g)])


def mask_targets(pixels: Tensor) -> Tensor:
    """``[len(COLORS), N]``: the ground truth's colour mask of each pixel for each colour word."""
    as_frames = pixels[:, :, None, None]  # [N, 3, 1, 1] as N one-pixel frames
    return torch.stack([color_mask(as_frames, c)[:, 0, 0] for c in COLOURS])


def train_segmenter(p: TrackPerception, pixels: Tensor, config: TrainTrackConfig, g: torch.Generator) -> float:
    targets = mask_targets(pixels)
    colours = torch.arange(len(COLORS), device=p.device)
    params = [*p.colours.parameters(), *p.segment_pixel.parameters(), *p.segment_colour.parameters(),
              *p.segment_rest.parameters()]
    def loss_of(idx: Tensor) -> Tensor:
        logits = p.mask_logits(pixels[idx].to(p.device), colours)
        return F.binary_cross_entropy_with_logits(logits, targets[:, idx].to(p.device))

    loss = _fit(params, config.segment_steps, config.lr, loss_of, len(pixels), 16 * config.batch_size, g)
    with torch.no_grad():
        error = (torch.sigmoid(p.mask_logits(pixels.to(p.device), colours)).cpu() - targets).abs().mean()
    logger.info("segmenter: loss %.4f, mean |mask - truth| %.4f", loss, error)
    return float(error)


def _fit(params: list, steps: int, lr: float, loss_of, n: int, batch: int, g: torch.Generator) -> float:
    """Adam with cosine decay on ``loss_of(random indices)``; the mean loss of the last tenth of steps."""
    opt = torch.optim.Adam(params, lr=lr)
    tail = []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        loss = loss_of(torch.randint(n, (min(batch, n),), generator=g))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step >= steps - max(1, steps // 10):
            tail.append(float(loss.detach()))
    return sum(tail) / len(tail)


# ---------------------------------------------------------------------- 2-4. detector, shapes, motion
def sprite_views(p: TrackPerception, clips: Sequence[Clip]) -> Iterator[tuple[Clip, object, object, Tensor]]:
    """Per clip and sprite: (clip, sprite, the ground truth's track, the learned mask ``[T, H, W]``)."""
    for clip in clips:
        scene = scene_of(clip.prompt, clip.frames.shape[0])
        with torch.no_grad():
            masks = p.masks(clip.frames, [s.color for s in scene.all_sprites]).float().cpu()
        for sprite, mask in zip(scene.all_sprites, masks):
            yield clip, sprite, track_sprite(clip.frames, sprite), mask


def train_detector(p: TrackPerception, clips: Sequence[Clip], config: TrainTrackConfig, g: torch.Generator) -> float:
    areas, cells, seen = [], [], []
    for clip, sprite, truth, mask in sprite_views(p, clips):
        areas.append(mask.flatten(1).sum(1))
        cells.append(torch.full_like(areas[-1], detect_cell(sprite.shape, sprite.size)))
        seen.append(truth.detected.float())
    area, cell, target = torch.cat(areas), torch.cat(cells).long(), torch.cat(seen)
    with torch.no_grad():  # start each threshold at the ground truth's own area rule, then fit
        for shape in SHAPES:
            for size in SIZES:
                p.detect_threshold.view(-1)[detect_cell(shape, size)] = math.log(min_detect_area(shape, size, FRAME_SIZE))

    def loss_of(idx: Tensor) -> Tensor:
        logits = p.detect_logits(area[idx].to(p.device), cell[idx].to(p.device))
        return F.binary_cross_entropy_with_logits(logits, target[idx].to(p.device))

    loss = _fit([p.detect_threshold, p.detect_sharpness], config.head_steps, config.lr, loss_of, len(area),
                16 * config.batch_size, g)
    with torch.no_grad():
        logits = p.detect_logits(area.to(p.device), cell.to(p.device))
        accuracy = float(((logits > 0).float().cpu() == target).float().mean())
    logger.info("detector: loss %.4f, accuracy %.4f over %d sprite frames", loss, accuracy, len(area))
    return accuracy


def head_data(p: TrackPerception, clips: Sequence[Clip]) -> dict[str, Tensor]:
    """Shape crops with the truth's template labels; motion features with the truth's match per motion word."""
    judge = TrackJudge(p)
    crops, radii, labels, feats, words, matches = [], [], [], [], [], []
    for clip in clips:
        scene = scene_of(clip.prompt, clip.frames.shape[0])
        learned = judge.tracks(clip.frames[None], scene)[0]
        for sprite, track in zip(scene.all_sprites, learned):
            truth = track_sprite(clip.frames, sprite)
            pick = shape_frames(track)
            pick = pick[truth.detected[pick]] if len(pick) else pick
            if len(pick):
                crops.append(normalized_crops(track.mask[:, None], track)[pick])
                radii.append((track.area[pick].clamp(min=1.0) / math.pi).sqrt())
                labels.append(template_ious(truth, pick).argmax(1))
            f = motion_features(track, clip.fps, p.config.motion_points)
            if f is not None:
                for k, word in enumerate(MOTIONS):
                    feats.append(f)
                    words.append(k)
                    matches.append(motion_match(truth, word, clip.fps))
    return {"crops": torch.cat(crops), "radii": torch.cat(radii), "labels": torch.cat(labels),
            "features": torch.stack(feats), "words": torch.tensor(words),
            "matches": torch.tensor(matches, dtype=torch.float32)}


def train_heads(p: TrackPerception, data: dict[str, Tensor], config: TrainTrackConfig, g: torch.Generator) -> dict:
    dev = p.device
    shape_loss = _fit([*p.shape_conv.parameters(), *p.shape_head.parameters()], config.head_steps, config.lr,
                      lambda i: F.cross_entropy(p.shape_logits(data["crops"][i].to(dev), data["radii"][i].to(dev)),
                                                data["labels"][i].to(dev)), len(data["labels"]), config.batch_size, g)
    motion_loss = _fit([*p.motions.parameters(), *p.motion_net.parameters()], config.head_steps, config.lr,
                       lambda i: F.mse_loss(p.motion_scores(data["features"][i].to(dev), data["words"][i].to(dev)),
                                            data["matches"][i].to(dev)), len(data["matches"]), config.batch_size, g)
    with torch.no_grad():
        shape_acc = float((p.shape_logits(data["crops"].to(dev), data["radii"].to(dev)).argmax(1).cpu()
                           == data["labels"]).float().mean())
        motion_err = float((p.motion_scores(data["features"].to(dev), data["words"].to(dev)).cpu()
                            - data["matches"]).abs().mean())
    logger.info("shape: loss %.4f, accuracy %.4f (%d crops); motion: loss %.4f, mean |error| %.4f (%d)",
                shape_loss, shape_acc, len(data["labels"]), motion_loss, motion_err, len(data["matches"]))
    return {"shape_accuracy": shape_acc, "motion_abs_error": motion_err}


# ---------------------------------------------------------------------- 5. backgrounds
def all_backgrounds() -> list[BackgroundSpec]:
    specs = [BackgroundSpec("solid", c) for c in COLOURS]
    specs += [BackgroundSpec(kind, a, b) for kind in BACKGROUNDS[1:] for a in COLOURS for b in COLOURS if a != b]
    return specs


def train_backgrounds(p: TrackPerception, config: TrainTrackConfig, g: torch.Generator) -> float:
    specs = all_backgrounds()
    images = torch.stack([render_background(s) for s in specs])
    loss = _fit([*p.background_parts.parameters(), *p.background_net.parameters()], config.background_steps,
                config.lr, lambda i: F.l1_loss(p.backgrounds([specs[k] for k in i.tolist()]), images[i].to(p.device)),
                len(specs), 64, g)
    logger.info("backgrounds: mean |decoded - drawn| %.4f over %d backgrounds", loss, len(specs))
    return loss


# ---------------------------------------------------------------------- report
def agreement_on(groups: Sequence[SiblingGroup], judge: TrackJudge, min_gap: float = 0.02) -> dict:
    """Pairwise agreement with the fused truth on the groups' windows: this reward's and the recording's."""
    ours, recorded = [], []
    for g in groups:
        truth = g.video_truth().tolist()
        scores = [video_overall(judge.parts(clip.float() / 255, g.prompt, g.fps)) for clip in g.video_clips()]
        ours.append((scores, truth))
        recorded.append((g.recorded_fused.tolist(), truth))
    mine, pairs = pairwise_agreement(ours, min_gap)
    theirs, _ = pairwise_agreement(recorded, min_gap)
    return {"agreement": round(mine, 4), "recording_rewards_agreement": round(theirs, 4), "pairs": pairs,
            "groups": len(groups)}


def train(config: TrainTrackConfig, out: str | Path, records: Sequence[str | Path] = (), device: str = "cpu",
          command: str | None = None) -> dict:
    check_writable_folder(out)
    dev = resolve_device(device)
    g = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    started = time.perf_counter()
    train_groups, tuning_groups = [], []
    for folder in records:
        tr, tu = load_groups(folder)
        train_groups += tr
        tuning_groups += tu
    recorded = recorded_clips(train_groups, config.max_windows)
    clips = recorded + rendered_clips(config.renders, config.render_frames, config.seed)
    if not clips:
        raise ValueError("no clips to train on: give --record folders or --renders > 0")
    logger.info("%d clips (%d recorded windows)", len(clips), len(recorded))
    p = TrackPerception(TrackRewardConfig()).to(dev)
    report: dict = {"clips": len(clips), "train_groups": len(train_groups), "tuning_groups": len(tuning_groups)}
    report["segmenter_abs_error"] = train_segmenter(p, pixel_pool(clips, 256, g), config, g)
    report["detector_accuracy"] = train_detector(p, clips, config, g)
    report.update(train_heads(p, head_data(p, clips), config, g))
    report["background_abs_error"] = train_backgrounds(p, config, g)
    p.eval()
    if tuning_groups:
        report["tuning"] = agreement_on(tuning_groups, TrackJudge(p))
        logger.info("tuning scenes: %s", report["tuning"])
    report["seconds"] = round(time.perf_counter() - started, 1)
    save_perception(p, out, {"command": command, "train_config": asdict(config), "records": [str(r) for r in records],
                             "report": report})
    return report


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    from streamt1.cli import HelpFormatter  # here, not above: the command line imports the whole API

    p = argparse.ArgumentParser(prog=prog, formatter_class=HelpFormatter, description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="folder for track_reward.safetensors and track_reward.json")
    p.add_argument("--record", action="append", default=[], metavar="DIR",
                   help="sibling recordings (`streamt1 sprites record-siblings`), repeatable")
    defaults = TrainTrackConfig()
    for name, value in asdict(defaults).items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value,
                       help=f"(default: {value})")
    add_device_option(p)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = config_from_flags(p, lambda: TrainTrackConfig(**{k: getattr(args, k) for k in asdict(defaults)}))
    given = argv if argv is not None else sys.argv[1:]
    command = " ".join([prog or "python -m streamt1.sprites.train_track_reward", *given])
    report = train(config, args.out, args.record, args.device, command)
    print(report)


if __name__ == "__main__":
    main()
