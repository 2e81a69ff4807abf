"""Train the Sprites image and video rewards on pairs drawn from the world.

    python -m streamt1.sprites.train_rewards --out DIR --steps N --device cuda|cpu

Every training item is a window of a sampled scene (train split) with its caption (varied
wording) as the positive, and one negative of a random kind:

* mismatched captions: another colour / shape / motion / background colour for something
  visible in the window, or another scene's caption;
* the background alone under the true caption (``empty``: a search must not escape a badly drawn
  sprite by drawing none);
* degraded pixels (image reward): blur, noise, colour cast, low contrast;
* temporal faults (video reward): flicker, a jump in time, frozen frames, reversed motion, noise on
  a few frames;
* a stalled sprite (video reward): one sprite of a directed motion, in the same place at the window's
  start, barely moves from there (the world's slowest speed). The model's own candidates mostly
  differ in such small displacements, and the rewards ordered those pairs at chance (benchmarks/README.md,
  twentieth session).

Each negative kind has labels for the video heads (motion, coherence, alignment); the image reward
has one label. Loss: BCE on every logit plus a pairwise ranking loss (softplus(neg - pos)) where
the negative is labelled 0. The final JSON reports pairwise accuracy (positive scored above its
negative) per negative kind on the train split and on the held-out eval split.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader

from streamt1.devices import resolve_device
from streamt1.outputs.atomic import atomic_write_json, check_writable_folder
from streamt1.sprites.captions import caption
from streamt1.sprites.rewards import RewardNetConfig, SpritesImageReward, SpritesVideoReward, resample_index
from streamt1.sprites.training import (SampleStream, check_settings, config_from_flags, lr_factor, run_progress,
                                       sample_loader, training_parser)
from streamt1.sprites.world import (
    COLORS,
    DIRECTIONS,
    FPS,
    HELD_OUT_PAIRS,
    LINEAR_SPEED,
    MOTIONS,
    SHAPES,
    EventKind,
    SceneSpec,
    SpriteSpec,
    render_at,
    render_backgrounds,
    sample_scene,
)

logger = logging.getLogger(__name__)

SCENE_FRAMES = 10 * FPS  # scenes are sampled as 10 s videos; windows are cut from them
CAPTION_NEGATIVES = ("color", "shape", "background", "other")
IMAGE_NEGATIVES = CAPTION_NEGATIVES + ("empty", "blur", "noise", "color_shift", "low_contrast")
VIDEO_NEGATIVES = CAPTION_NEGATIVES + ("empty", "motion", "reversed", "frozen", "flicker", "jump", "partial_noise",
                                        "stalled")
# (motion, coherence, alignment) labels of each video negative kind; the positive is all ones.
VIDEO_LABELS: dict[str, tuple[float, float, float]] = {
    "color": (1, 1, 0),
    "shape": (1, 1, 0),
    "background": (1, 1, 0),
    "other": (0, 1, 0),
    "empty": (0, 1, 0),
    "motion": (0, 1, 1),
    "reversed": (0, 1, 1),
    "frozen": (0, 0, 1),
    "flicker": (1, 0, 1),
    "jump": (1, 0, 1),
    "partial_noise": (1, 0, 1),
    "stalled": (0, 1, 1),
}
STALLED_SPEED = 0.05  # the slowest a sprite can move (SpriteSpec.speed's lower bound)


@dataclass(frozen=True)
class TrainRewardsConfig:
    steps: int = 4000
    batch_size: int = 64  # positive/negative pairs per step, for each reward
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    workers: int = 12  # rendering a pair takes ~3 ms of one CPU core
    min_window: int = 12  # frames of a video window (16 fps)
    max_window: int = 48
    log_every: int = 50
    max_minutes: float | None = None  # stop (and save) after this much training time
    eval_batches: int = 8
    net: RewardNetConfig = RewardNetConfig()

    def __post_init__(self) -> None:
        check_settings(self)
        for name in ("steps", "batch_size", "log_every", "eval_batches"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if self.workers < 0:
            raise ValueError(f"workers={self.workers} must be >= 0")
        if not self.net.num_frames <= self.min_window <= self.max_window <= SCENE_FRAMES // 2:
            raise ValueError(
                f"need num_frames={self.net.num_frames} <= min_window={self.min_window} <= "
                f"max_window={self.max_window} <= {SCENE_FRAMES // 2}"
            )


# --------------------------------------------------------------------------- negatives


def _randint(g: torch.Generator, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi)."""
    return lo + int(torch.randint(hi - lo, (1,), generator=g))


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def _choice(g: torch.Generator, options: list | tuple):
    return options[_randint(g, 0, len(options))]


def _with_sprite(scene: SceneSpec, index: int, sprite: SpriteSpec) -> SceneSpec:
    """``scene`` with sprite ``index`` of ``all_sprites`` replaced."""
    if index < len(scene.sprites):
        sprites = scene.sprites[:index] + (sprite,) + scene.sprites[index + 1 :]
        return replace(scene, sprites=sprites)
    entered = [i for i, e in enumerate(scene.events) if e.kind is EventKind.ENTER]
    k = entered[index - len(scene.sprites)]
    events = list(scene.events)
    events[k] = replace(events[k], sprite=sprite)
    return replace(scene, events=tuple(events))


def visible_sprites(scene: SceneSpec, start: int, stop: int) -> list[int]:
    """Indices of ``all_sprites`` visible during the whole window ``[start, stop)``."""
    return [i for i, (a, b) in enumerate(scene.sprite_windows()) if a <= start and (b is None or b >= stop)]


def mismatch_scene(
    scene: SceneSpec, start: int, stop: int, kind: str, split: str, g: torch.Generator
) -> SceneSpec | None:
    """A scene whose caption contradicts what window ``[start, stop)`` shows, or None if ``kind`` cannot.

    In the train split a changed colour or shape never forms a held-out colour x shape pair, so the
    held-out pairs stay unseen in captions too (the eval split measures generalisation to them).
    """
    def allowed(color: str, shape: str) -> bool:
        return split == "eval" or (color, shape) not in HELD_OUT_PAIRS

    sprites = scene.all_sprites
    if kind == "background":
        changes = [i for i, (frame, _) in enumerate(scene.background_changes()) if frame <= start]
        k = changes[-1]
        bg = scene.background_changes()[k][1]
        free = [c for c in COLORS if c not in {s.color for s in sprites} | set(bg.colors)]
        if not free:
            return None
        new = replace(bg, color=_choice(g, free))
        if k == 0:
            return replace(scene, background=new)
        bg_events = [i for i, e in enumerate(scene.events) if e.kind is EventKind.BACKGROUND]
        events = list(scene.events)
        events[bg_events[k - 1]] = replace(events[bg_events[k - 1]], background=new)
        return replace(scene, events=tuple(events))
    visible = visible_sprites(scene, start, stop)
    if not visible:
        return None
    i = _choice(g, visible)
    s = sprites[i]
    if kind == "color":
        taken = {x.color for x in sprites} | {c for _, bg in scene.background_changes() for c in bg.colors}
        free = [c for c in COLORS if c not in taken and allowed(c, s.shape)]
        return _with_sprite(scene, i, replace(s, color=_choice(g, free))) if free else None
    if kind == "shape":
        shapes = [x for x in SHAPES if x != s.shape and allowed(s.color, x)]
        return _with_sprite(scene, i, replace(s, shape=_choice(g, shapes)))
    if kind == "motion":
        return _with_sprite(scene, i, replace(s, motion=_choice(g, [m for m in MOTIONS if m != s.motion])))
    raise ValueError(f"kind={kind!r} is not a caption mismatch")


def stalled_scene(scene: SceneSpec, start: int, stop: int, g: torch.Generator) -> SceneSpec | None:
    """``scene`` with one sprite of a directed motion, visible over ``[start, stop)``, slowed to
    :data:`STALLED_SPEED` and moved so that it is where it was at frame ``start`` (None if no sprite can)."""
    sprites, windows = scene.all_sprites, scene.sprite_windows()
    directed = [i for i in visible_sprites(scene, start, stop) if sprites[i].motion in DIRECTIONS]
    if not directed:
        return None
    i = _choice(g, directed)
    s = sprites[i]
    dx, dy = DIRECTIONS[s.motion]
    lost = LINEAR_SPEED * (s.speed - STALLED_SPEED) * max(0, start - windows[i][0]) / FPS  # distance not covered
    x, y = (s.x + dx * lost) % 1.0, (s.y + dy * lost) % 1.0
    return _with_sprite(scene, i, replace(s, speed=STALLED_SPEED, x=x, y=y))


def degrade_frames(frames: Tensor, kind: str, g: torch.Generator) -> Tensor:
    """Pixel degradations of ``frames [N, 3, H, W]`` (same for every frame)."""
    if kind == "blur":
        k = _choice(g, (3, 5))
        return F.avg_pool2d(frames, k, stride=1, padding=k // 2, count_include_pad=False)
    if kind == "noise":
        return (frames + _uniform(g, 0.04, 0.15) * torch.randn(frames.shape, generator=g)).clamp(0, 1)
    if kind == "color_shift":
        offset = (torch.rand(3, generator=g) * 2 - 1) * 0.3
        offset[_randint(g, 0, 3)] = _choice(g, (-0.3, 0.3))  # at least one strong channel shift
        return (frames + offset[None, :, None, None]).clamp(0, 1)
    if kind == "low_contrast":
        mean = frames.mean(dim=(1, 2, 3), keepdim=True)
        return mean + (frames - mean) * _uniform(g, 0.25, 0.6)
    raise ValueError(f"kind={kind!r} is not a pixel degradation")


def degrade_clip(clip: Tensor, later: Tensor, kind: str, g: torch.Generator) -> Tensor:
    """Temporal faults of a resampled clip ``[F, 3, H, W]``; ``later`` is the same window shifted in time
    (``reversed`` is rendered, :func:`played_backwards`)."""
    n = clip.shape[0]
    if kind == "frozen":
        k = _randint(g, 0, n // 2)
        return torch.cat([clip[:k], clip[k : k + 1].expand(n - k, -1, -1, -1)])
    if kind == "jump":
        k = _randint(g, 1, n)
        return torch.cat([clip[:k], later[k:]])
    hit = torch.randperm(n, generator=g)[: _randint(g, 1, max(2, n // 2))]
    out = clip.clone()
    if kind == "flicker":
        out[hit] = degrade_frames(out[hit], _choice(g, ("color_shift", "low_contrast")), g)
        return out
    if kind == "partial_noise":
        out[hit] = degrade_frames(out[hit], "noise", g)
        return out
    raise ValueError(f"kind={kind!r} is not a temporal fault")


# --------------------------------------------------------------------------- data


def _caption_negative(
    scene: SceneSpec, start: int, stop: int, kind: str, split: str, g: torch.Generator
) -> tuple[str, str]:
    """(caption, kind actually used): falls back to another scene's caption when ``kind`` cannot apply."""
    wrong = None if kind == "other" else mismatch_scene(scene, start, stop, kind, split, g)
    if wrong is None:
        return caption(sample_scene(g, split, num_frames=SCENE_FRAMES), g), "other"
    return caption(wrong, g), kind


def _has_directed_motion(scene: SceneSpec, start: int, stop: int) -> bool:
    """Reversal contradicts the caption only for directed motions (not bounce / orbit)."""
    directed = set(DIRECTIONS) | {"grow", "shrink"}
    return any(scene.all_sprites[i].motion in directed for i in visible_sprites(scene, start, stop))


def _image_negative(scene: SceneSpec, frame: Tensor, t: int, text: str, split: str, g: torch.Generator):
    kind = _choice(g, IMAGE_NEGATIVES)
    if kind == "empty":
        return render_backgrounds(scene, torch.tensor([float(t)]))[0].contiguous(), text, kind
    if kind in CAPTION_NEGATIVES:
        wrong, kind = _caption_negative(scene, t, t + 1, kind, split, g)
        return frame, wrong, kind
    return degrade_frames(frame[None], kind, g)[0], text, kind


def played_backwards(scene: SceneSpec, times: Tensor) -> Tensor:
    """The window ``times[0] .. times[-1]`` played backwards, read at the gaps of ``times`` (``[F, 3, H, W]``).
    Not the clip flipped: with recent frames the plan is dense at its end, and a flip would move the
    dense frames to the start, a cue the net could learn instead of the motion's direction."""
    return render_at(scene, times[0] + times[-1] - times)


def _video_negative(
    scene: SceneSpec, clip: Tensor, later: Tensor, times: Tensor, text: str, split: str, g: torch.Generator
):
    window = (int(times[0]), int(times[-1]) + 1)
    kind = _choice(g, VIDEO_NEGATIVES)
    if kind == "empty":
        return render_backgrounds(scene, times).contiguous(), text, kind
    if kind == "reversed" and not _has_directed_motion(scene, *window):
        kind = "motion"
    if kind == "stalled":
        stalled = stalled_scene(scene, *window, g)
        if stalled is not None:
            return render_at(stalled, times), text, kind
        kind = "motion"
    if kind in CAPTION_NEGATIVES or kind == "motion":
        wrong, kind = _caption_negative(scene, *window, kind, split, g)
        if kind == "motion" and wrong == text:  # swapped motions with identical wording cannot happen; be safe
            kind = "other"
        return clip, wrong, kind
    if kind == "reversed":
        return played_backwards(scene, times), text, kind
    return degrade_clip(clip, later, kind, g), text, kind


def sample_pair(g: torch.Generator, split: str, config: TrainRewardsConfig) -> dict:
    """One positive window of a sampled scene and one negative for each reward."""
    scene = sample_scene(g, split, num_frames=SCENE_FRAMES)
    length = _randint(g, config.min_window, config.max_window + 1)
    start = _randint(g, 0, SCENE_FRAMES - length + 1)
    times = (start + resample_index(length, config.net.num_frames, config.net.recent_frames)).float()
    jump = _randint(g, FPS, 3 * FPS + 1)
    frames = render_at(scene, torch.cat([times, times + jump]))
    clip, later = frames.chunk(2)  # [F, 3, H, W] each
    text = caption(scene, g)
    k = _randint(g, 0, len(times))
    image_neg, image_text, image_kind = _image_negative(scene, clip[k], int(times[k]), text, split, g)
    video_neg, video_text, video_kind = _video_negative(scene, clip, later, times, text, split, g)
    return {
        "text": text,
        "frame": clip[k],
        "image_neg": image_neg,
        "image_neg_text": image_text,
        "image_kind": IMAGE_NEGATIVES.index(image_kind),
        "clip": clip,
        "video_neg": video_neg,
        "video_neg_text": video_text,
        "video_kind": VIDEO_NEGATIVES.index(video_kind),
        "video_labels": torch.tensor(VIDEO_LABELS[video_kind]),
    }


# --------------------------------------------------------------------------- training


def image_loss(model: SpritesImageReward, batch: dict, device: torch.device) -> tuple[Tensor, Tensor]:
    """Loss and per-pair correctness ``[B]`` (positive scored above negative)."""
    frames = torch.cat([batch["frame"], batch["image_neg"]]).to(device)
    scores = model.logits(frames, list(batch["text"]) + list(batch["image_neg_text"]))[:, 0]
    pos, neg = scores.chunk(2)
    bce = F.binary_cross_entropy_with_logits(scores, torch.cat([torch.ones_like(pos), torch.zeros_like(neg)]))
    return bce + F.softplus(neg - pos).mean(), (pos > neg).detach().cpu()


def video_loss(model: SpritesVideoReward, batch: dict, device: torch.device) -> tuple[Tensor, Tensor]:
    clips = torch.cat([batch["clip"], batch["video_neg"]]).to(device)
    logits = model.logits(model.fuse(clips), list(batch["text"]) + list(batch["video_neg_text"]))
    pos, neg = logits.chunk(2)
    labels = batch["video_labels"].to(device, torch.float32)
    bce = F.binary_cross_entropy_with_logits(logits, torch.cat([torch.ones_like(labels), labels]))
    wrong = 1 - labels
    rank = (F.softplus(neg - pos) * wrong).sum() / wrong.sum().clamp(min=1)
    return bce + rank, (pos.sum(1) > neg.sum(1)).detach().cpu()


def _by_kind(correct: Tensor, kinds: Tensor, names: tuple[str, ...]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for ok, k in zip(correct.tolist(), kinds.tolist()):
        out[names[k]].append(float(ok))
    return out


@torch.no_grad()
def evaluate(image: SpritesImageReward, video: SpritesVideoReward, config: TrainRewardsConfig, split: str,
             device: torch.device) -> dict[str, dict[str, float]]:
    """Pairwise accuracy per negative kind on fixed batches of ``split``."""
    image.eval(), video.eval()
    pairs = SampleStream(partial(sample_pair, split=split, config=config), config.seed + 7919)
    stream = iter(DataLoader(pairs, batch_size=config.batch_size))
    acc: dict[str, dict[str, list[float]]] = {"image": defaultdict(list), "video": defaultdict(list)}
    for _ in range(config.eval_batches):
        batch = next(stream)
        for name, (loss_fn, model, kinds, names) in {
            "image": (image_loss, image, batch["image_kind"], IMAGE_NEGATIVES),
            "video": (video_loss, video, batch["video_kind"], VIDEO_NEGATIVES),
        }.items():
            for kind, values in _by_kind(loss_fn(model, batch, device)[1], kinds, names).items():
                acc[name][kind] += values
    image.train(), video.train()
    summary = {}
    for name, kinds in acc.items():
        summary[name] = {k: sum(v) / len(v) for k, v in sorted(kinds.items())}
        summary[name]["all"] = sum(sum(v) for v in kinds.values()) / sum(len(v) for v in kinds.values())
    return summary


def init_config(init: str | Path, recent_frames: int) -> RewardNetConfig:
    """The net of the video reward saved in ``init``, reading ``recent_frames`` recent frames
    (:meth:`~streamt1.sprites.rewards.SpritesVideoReward.with_recent_frames`)."""
    return SpritesVideoReward.from_pretrained(init).with_recent_frames(recent_frames).config


def train(config: TrainRewardsConfig, out: str | Path, device: str | torch.device = "cpu",
          init: str | Path | None = None) -> dict:
    """Train both rewards (from scratch, or from the weights in ``init``, whose nets must be
    ``config.net``'s), save ``image_reward.*`` and ``video_reward.*`` under ``out``; return the summary."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but CUDA is not available; pass --device cpu")
    torch.manual_seed(config.seed)
    image = SpritesImageReward(replace(config.net, kind="image", recent_frames=0)).to(device)  # a frame: no plan
    video = SpritesVideoReward(replace(config.net, kind="video")).to(device)
    if init is not None:
        for model in (image, video):
            saved = type(model).from_pretrained(init)
            if replace(saved.config, recent_frames=model.config.recent_frames) != model.config:
                raise ValueError(f"{init} holds a {model.kind} reward with {saved.config}, not config.net's "
                                 f"{model.config}: take config.net from init_config({str(init)!r}, ...)")
            model.load_state_dict(saved.state_dict())
    params = list(image.parameters()) + list(video.parameters())
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    pairs = SampleStream(partial(sample_pair, split="train", config=config), config.seed)
    loader = sample_loader(pairs, config.batch_size, config.workers, device)
    history, window, t0 = [], defaultdict(list), time.time()
    for step, batch in enumerate(loader):
        done_share = run_progress(step, config.steps, time.time() - t0, config.max_minutes)
        if done_share >= 1:
            break
        for group in opt.param_groups:
            group["lr"] = config.lr * lr_factor(done_share)
        li, ci = image_loss(image, batch, device)
        lv, cv = video_loss(video, batch, device)
        opt.zero_grad(set_to_none=True)
        (li + lv).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        for key, value in (("image_loss", li.item()), ("video_loss", lv.item()),
                           ("image_acc", ci.float().mean().item()), ("video_acc", cv.float().mean().item())):
            window[key].append(value)
        if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
            row = {"step": step + 1, "seconds": round(time.time() - t0, 1)}
            row.update({k: round(sum(v) / len(v), 4) for k, v in window.items()})
            history.append(row)
            window.clear()
            logger.info("step %d/%d %s", step + 1, config.steps, row)
    summary = {
        "train_config": asdict(config),
        "init": None if init is None else str(init),
        "seconds": round(time.time() - t0, 1),
        "device": str(device),
        "history": history,
        "final": history[-1],
        "accuracy": {split: evaluate(image, video, config, split, device) for split in ("train", "eval")},
    }
    image.save_pretrained(out, summary)
    video.save_pretrained(out, summary)
    atomic_write_json(Path(out) / "train_rewards.json", summary)
    logger.info("saved rewards to %s; pairwise accuracy %s", out, summary["accuracy"])
    return summary


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    p = training_parser(__doc__.split("\n")[0], "folder for image_reward.* / video_reward.* / train_rewards.json",
                        TrainRewardsConfig, prog)
    p.add_argument("--channels", type=int, default=None,
                   help=f"width of the nets (default {RewardNetConfig.channels}); with --init, those of its nets")
    p.add_argument("--recent-frames", type=int, default=RewardNetConfig.recent_frames,
                   help="frames of the video reward's plan taken at full rate from the clip's end (default "
                        f"{RewardNetConfig.recent_frames})")
    p.add_argument("--init", default=None, help="folder with image_reward.* / video_reward.* to start from")
    args = p.parse_args(argv)
    check_writable_folder(args.out)  # before the work, not at its save
    if args.init is not None and args.channels is not None:
        p.error("--channels cannot change the nets of --init: leave it out")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    net = (init_config(args.init, args.recent_frames) if args.init is not None
           else RewardNetConfig(channels=RewardNetConfig.channels if args.channels is None else args.channels,
                                recent_frames=args.recent_frames))
    config = config_from_flags(p, lambda: TrainRewardsConfig(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, workers=args.workers, seed=args.seed,
        log_every=max(1, min(TrainRewardsConfig.log_every, args.steps // 10)),
        net=replace(net, kind="image"), max_minutes=args.max_minutes,
    ))
    train(config, args.out, resolve_device(args.device, "--device"), args.init)


if __name__ == "__main__":
    main()
