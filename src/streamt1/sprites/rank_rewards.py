"""Fine-tune the Sprites rewards to rank the model's own sibling candidates like the ground truth.

    python -m streamt1.sprites.rank_rewards --record DIR --init WEIGHTS --out DIR [--device cuda]

The groups come from :mod:`streamt1.sprites.siblings` (train-split scenes only). Each step draws
``groups_per_batch`` groups and, within each group, every pair of candidates whose ground truth
differs by more than ``min_gap``; the loss is the logistic ranking loss ``softplus(s_lo - s_hi)`` of

* the video reward's overall score against the fused ground truth of the reward windows;
* the image reward (mean over the frames it scored) against the chunk's appearance truth
  (:data:`~streamt1.sprites.siblings.IMAGE_TRUTH_PARTS`, what a frame can show);
* the search's fused score (raw fusion, ``alpha = min(tau, progress)``) against the fused ground
  truth, so the two rewards also learn the relative scale the search adds them at;
* each of the video reward's parts against the truth it stands for (:data:`PART_TRUTHS`: motion
  against motion alignment, coherence against subject consistency, alignment against the mean of
  background, presence and shape alignment), a denser signal than the one fused order;

plus the synthetic-negative losses of :mod:`streamt1.sprites.train_rewards` on a fresh rendered
batch, so the rewards keep what they know about rendered clips. The run starts from ``--init``
and keeps the state with the best fused agreement on the tuning scenes (checked every
``eval_every`` steps); the cards record the pre-training card, this run's history, the agreement
before and after on the tuning scenes, the fusion settings tried there, and the held-out
rendered-clip accuracies before and after.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from streamt1.agreement import pairwise_agreement
from streamt1.devices import resolve_device
from streamt1.outputs.atomic import atomic_write_json, check_writable_folder
from streamt1.config import FUSION_MODES
from streamt1.search.pruning import fuse, mix_alpha
from streamt1.sprites.rewards import (
    DEFAULT_WEIGHTS_DIR,
    VIDEO_PARTS,
    SpritesImageReward,
    SpritesVideoReward,
)
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.files import DIGEST_KEY
from streamt1.sprites.siblings import IMAGE_TRUTH_PARTS, TUNING_EVERY, SiblingGroup, load_groups, scene_files
from streamt1.sprites.train_rewards import TrainRewardsConfig, evaluate, image_loss, sample_pair, video_loss
from streamt1.sprites.training import (SampleStream, add_device_option, check_settings, config_from_flags,
                                       lr_factor, run_progress, sample_loader)
from streamt1.sprites.world import roll_steps

logger = logging.getLogger(__name__)

TAU_GRID = tuple(round(0.1 * i, 1) for i in range(11))  # the fusion weights tried on the tuning scenes
# The window metrics each video-reward part (VIDEO_PARTS order) is ranked against (their mean).
PART_TRUTHS = {"motion": ("alignment_motion",), "coherence": ("subject_consistency",),
               "alignment": IMAGE_TRUTH_PARTS}


@dataclass(frozen=True)
class RankRewardsConfig:
    """The fine-tune's settings; what each does: :data:`SETTING_HELP` (also the --help of its flags)."""

    steps: int = 3000
    groups_per_batch: int = 32
    min_gap: float = 0.02
    tau: float = 0.4
    video_weight: float = 1.0
    image_weight: float = 0.5
    fused_weight: float = 1.0
    part_weight: float = 1.0
    synthetic_weight: float = 1.0
    synthetic_batch: int = 64
    lr: float = 3e-4
    weight_decay: float = 1e-4
    seed: int = 0
    workers: int = 12
    log_every: int = 50
    eval_every: int = 250
    eval_batches: int = 8
    max_minutes: float | None = None
    recent_frames: int | None = None
    # Roll each training group's frames by one random offset that keeps its scene (sprites and
    # patterns wrap around the edges; gradients are not rolled along their direction), so the
    # siblings' truths still hold while the few thousand recorded scenes can no longer be told
    # apart by where things are.
    roll: bool = True

    def __post_init__(self) -> None:
        check_settings(self)
        for name in ("steps", "groups_per_batch", "synthetic_batch", "log_every", "eval_every", "eval_batches"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        for name in ("video_weight", "image_weight", "fused_weight", "part_weight", "synthetic_weight", "min_gap",
                     "workers"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 0")
        if not 0 <= self.tau <= 1:
            raise ValueError(f"tau={self.tau} must be in [0, 1]")


# --------------------------------------------------------------------------- batches of groups


@dataclass
class PreparedGroup:
    """A :class:`SiblingGroup` reduced to what the rewards read: the image reward's frames and the
    frames the video reward's plan reads of each reward window (so the scores are those of the
    whole windows)."""

    prompt: str
    fps: float
    frames: Tensor  # [N, t, 3, H, W] uint8
    clips: Tensor  # [N, F, 3, H, W] uint8
    video_truth: Tensor  # [N]
    image_truth: Tensor  # [N]
    part_truth: Tensor  # [N, len(VIDEO_PARTS)]
    progress: tuple[int, int, int]  # start frame, video frames, chunk frames (latent): the fusion's alpha
    parents: list[int]  # [N] each candidate's history

    def __len__(self) -> int:
        return len(self.frames)

    def alpha(self, tau: float) -> float:
        return mix_alpha(*self.progress, tau)


def part_truth(group: SiblingGroup) -> Tensor:
    """``[N, len(VIDEO_PARTS)]``: the mean of each part's :data:`PART_TRUTHS` on the reward windows."""
    return torch.stack([torch.stack([group.window_metrics[k] for k in PART_TRUTHS[part]]).mean(0)
                        for part in VIDEO_PARTS], dim=1).float()


def prepare(group: SiblingGroup, video: SpritesVideoReward) -> PreparedGroup:
    clips = group.video_clips()
    plan = video.frame_plan(clips.shape[1], group.fps)
    return PreparedGroup(group.prompt, group.fps, group.image_frames(), clips[:, plan], group.video_truth().float(),
                         group.image_truth().float(), part_truth(group),
                         (group.start_frame, group.num_frames, group.chunk_frames), group.parents.tolist())


@dataclass
class SiblingBatch:
    """Candidates of several groups, flattened (``C`` candidates, ``R`` image-reward frames)."""

    frames: Tensor  # [R, 3, H, W] uint8, the frames the image reward scored
    frame_owner: Tensor  # [R] long: the candidate of each frame
    clips: Tensor  # [C, F, 3, H, W] uint8
    prompts: list[str]  # [C]
    group: Tensor  # [C] long: the group of each candidate
    alpha: Tensor  # [C] the image reward's weight in the fused score
    video_truth: Tensor  # [C]
    image_truth: Tensor  # [C]
    part_truth: Tensor  # [C, len(VIDEO_PARTS)]
    fps: float


def rolled(group: PreparedGroup, g: torch.Generator) -> PreparedGroup:
    """``group`` with all its frames rolled by one random (rows, columns) offset of those that leave
    its prompt's scene as it was (:func:`~streamt1.sprites.world.roll_steps`)."""
    h, w = group.frames.shape[-2:]
    steps = roll_steps(parse_caption(group.prompt), h)
    shift = tuple(step * int(torch.randint(size // step, (1,), generator=g)) if step else 0
                  for step, size in zip(steps, (h, w)))
    return replace(group, frames=group.frames.roll(shift, dims=(-2, -1)), clips=group.clips.roll(shift, dims=(-2, -1)))


def make_batch(groups: Sequence[PreparedGroup], tau: float) -> SiblingBatch:
    """Flatten ``groups`` into one batch."""
    owners, prompts, group, alpha = [], [], [], []
    first = 0
    for k, g in enumerate(groups):
        n, t = g.frames.shape[:2]
        owners.append(torch.arange(first, first + n).repeat_interleave(t))
        prompts += [g.prompt] * n
        group.append(torch.full((n,), k))
        alpha.append(torch.full((n,), g.alpha(tau)))
        first += n
    return SiblingBatch(torch.cat([g.frames.flatten(0, 1) for g in groups]), torch.cat(owners),
                        torch.cat([g.clips for g in groups]), prompts, torch.cat(group), torch.cat(alpha),
                        torch.cat([g.video_truth for g in groups]), torch.cat([g.image_truth for g in groups]),
                        torch.cat([g.part_truth for g in groups]), groups[0].fps)


def sibling_pairs(truth: Tensor, group: Tensor, min_gap: float) -> tuple[Tensor, Tensor]:
    """(better, worse) candidate indices of every pair of one group whose truths differ by > ``min_gap``."""
    same = group[:, None] == group[None, :]
    better, worse = (same & (truth[:, None] - truth[None, :] > min_gap)).nonzero(as_tuple=True)
    return better, worse


def ranking_loss(scores: Tensor, truth: Tensor, group: Tensor, min_gap: float) -> Tensor:
    """Mean ``softplus(s_worse - s_better)`` over :func:`sibling_pairs` (0 without pairs)."""
    better, worse = sibling_pairs(truth.to(scores.device), group.to(scores.device), min_gap)
    if len(better) == 0:
        return scores.sum() * 0
    return F.softplus(scores[worse] - scores[better]).mean()


def score_batch(image: SpritesImageReward, video: SpritesVideoReward,
                batch: SiblingBatch) -> tuple[Tensor, Tensor, Tensor]:
    """(short, long, parts): the image reward averaged over each candidate's frames ``[C]``, the
    video overall ``[C]`` and its parts ``[C, len(VIDEO_PARTS)]``."""
    device = image.device
    owner = batch.frame_owner.to(device)
    per_frame = image(batch.frames.to(device), [batch.prompts[i] for i in batch.frame_owner.tolist()])
    c = len(batch.prompts)
    short = torch.zeros(c, device=device).index_add(0, owner, per_frame) / torch.bincount(owner, minlength=c)
    score = video.score_planned(batch.clips.to(video.device), batch.prompts, batch.fps)
    parts = torch.stack([score.parts[name] for name in VIDEO_PARTS], dim=1).to(device)
    return short, score.overall.to(device), parts


# --------------------------------------------------------------------------- measurement


@torch.no_grad()
def score_groups(image: SpritesImageReward, video: SpritesVideoReward, groups: Sequence[PreparedGroup],
                 config: RankRewardsConfig, chunk: int = 64) -> list[tuple[Tensor, Tensor, PreparedGroup]]:
    """Per group: (image reward [N], video reward [N], the group), in eval mode."""
    was_training = image.training
    image.eval(), video.eval()
    rows = []
    for i in range(0, len(groups), chunk):
        part = groups[i : i + chunk]
        batch = make_batch(part, config.tau)
        short, long, _ = (s.cpu() for s in score_batch(image, video, batch))
        for k, g in enumerate(part):
            rows.append((short[batch.group == k], long[batch.group == k], g))
    if was_training:
        image.train(), video.train()
    return rows


def sibling_report(rows: Sequence[tuple[Tensor, Tensor, PreparedGroup]], config: RankRewardsConfig) -> dict:
    """Agreement on scored groups (:func:`score_groups`) of each reward with its truth, and of the
    search's fused score for every fusion mode x :data:`TAU_GRID` (``fused`` = raw fusion at
    ``config.tau``, the loss's setting)."""
    def agree(pairs: list[tuple[Tensor, Tensor]], same_parent: bool | None = None) -> float | None:
        value = pairwise_agreement([(s.tolist(), t.tolist()) for s, t in pairs], config.min_gap,
                                   [g.parents for *_, g in rows], same_parent)[0]
        return None if math.isnan(value) else round(value, 4)  # None (JSON null): no pair of that kind

    fused = [(fuse(sh, lg, g.alpha(config.tau)), g.video_truth) for sh, lg, g in rows]
    report = {
        "video_vs_truth": agree([(lg, g.video_truth) for _, lg, g in rows]),
        "image_vs_truth": agree([(sh, g.video_truth) for sh, _, g in rows]),
        "image_vs_image_truth": agree([(sh, g.image_truth) for sh, _, g in rows]),
        "fused": agree(fused),
        "fused_same_parent": agree(fused, same_parent=True),  # siblings of one history
        "fused_cross_parent": agree(fused, same_parent=False),
        "pairs": pairwise_agreement([(g.video_truth.tolist(), g.video_truth.tolist()) for _, _, g in rows],
                                    config.min_gap)[1],  # pairs counted against the fused truth
        "groups": len(rows),
    }
    report["fusion"] = {
        f"{mode} tau={tau}": agree([(fuse(sh, lg, g.alpha(tau), mode), g.video_truth) for sh, lg, g in rows])
        for mode in FUSION_MODES for tau in TAU_GRID
    }
    return report


# --------------------------------------------------------------------------- training


def sibling_losses(image: SpritesImageReward, video: SpritesVideoReward, batch: SiblingBatch,
                   config: RankRewardsConfig) -> dict[str, Tensor]:
    short, long, parts = score_batch(image, video, batch)
    fused = fuse(short, long, batch.alpha.to(short.device))  # the search's raw fusion, alpha per candidate
    return {
        "video_rank": ranking_loss(long, batch.video_truth, batch.group, config.min_gap),
        "image_rank": ranking_loss(short, batch.image_truth, batch.group, config.min_gap),
        "fused_rank": ranking_loss(fused, batch.video_truth, batch.group, config.min_gap),
        "part_rank": sum(ranking_loss(parts[:, i], batch.part_truth[:, i], batch.group, config.min_gap)
                         for i in range(len(VIDEO_PARTS))) / len(VIDEO_PARTS),
    }


def train_step(image: SpritesImageReward, video: SpritesVideoReward, opt: torch.optim.Optimizer,
               batch: SiblingBatch, synthetic: dict | None, config: RankRewardsConfig) -> dict[str, float]:
    """One optimiser step on a sibling batch and (if given) a batch of train_rewards' synthetic pairs."""
    losses = sibling_losses(image, video, batch, config)
    total = (config.video_weight * losses["video_rank"] + config.image_weight * losses["image_rank"]
             + config.fused_weight * losses["fused_rank"] + config.part_weight * losses["part_rank"])
    if synthetic is not None:
        losses["synthetic_image"] = image_loss(image, synthetic, image.device)[0]
        losses["synthetic_video"] = video_loss(video, synthetic, video.device)[0]
        total = total + config.synthetic_weight * (losses["synthetic_image"] + losses["synthetic_video"])
    opt.zero_grad(set_to_none=True)
    total.backward()
    torch.nn.utils.clip_grad_norm_([p for group in opt.param_groups for p in group["params"]], 1.0)
    opt.step()
    return {k: v.item() for k, v in losses.items()}


def _synthetic_config(video: SpritesVideoReward, config: RankRewardsConfig) -> TrainRewardsConfig:
    """train_rewards' settings for the synthetic batches and rendered-clip evaluation of these nets."""
    return TrainRewardsConfig(batch_size=config.synthetic_batch, workers=config.workers, seed=config.seed + 1,
                              eval_batches=config.eval_batches, net=replace(video.config, kind="image"))


def _load_init(init: str | Path | None, device: torch.device,
               recent_frames: int | None = None) -> tuple[SpritesImageReward, SpritesVideoReward, dict]:
    """The rewards of ``init``; ``recent_frames`` (if given) changes the video reward's frame plan."""
    folder = Path(init) if init is not None else DEFAULT_WEIGHTS_DIR
    image = SpritesImageReward.from_pretrained(folder, device).train()
    video = SpritesVideoReward.from_pretrained(folder, device).train()
    if recent_frames is not None:
        video.with_recent_frames(recent_frames)
    card = json.loads((folder / "video_reward.json").read_text())
    for own in ("config", DIGEST_KEY):  # the file's, not its training's
        card.pop(own, None)
    return image, video, card


class BestState:
    """The rewards' weights with the best fused agreement on the tuning scenes so far (ties keep the
    earlier, so a run that never improves ends where it started)."""

    def __init__(self, image: SpritesImageReward, video: SpritesVideoReward, agreement: float | None) -> None:
        self.image, self.video = image, video
        self.checks = [{"step": 0, "tuning_fused": agreement}]
        self._keep(0, agreement)

    def _keep(self, step: int, agreement: float) -> None:
        self.step, self.agreement = step, agreement
        self.states = copy.deepcopy(self.image.state_dict()), copy.deepcopy(self.video.state_dict())

    def offer(self, step: int, agreement: float | None) -> None:
        self.checks.append({"step": step, "tuning_fused": agreement})
        if agreement is not None and (self.agreement is None or agreement > self.agreement):
            self._keep(step, agreement)

    def restore(self) -> None:
        self.image.load_state_dict(self.states[0])
        self.video.load_state_dict(self.states[1])


def finetune(config: RankRewardsConfig, records: str | Path | Sequence[str | Path], init: str | Path | None,
             out: str | Path, device: str | torch.device = "cpu") -> dict:
    """Fine-tune the rewards of ``init`` on the groups recorded in ``records`` (one folder or
    several, e.g. every round's recording so far); save them under ``out``."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but CUDA is not available; pass --device cpu")
    records = [str(records)] if isinstance(records, (str, Path)) else [str(r) for r in records]
    resolved = [Path(r).resolve() for r in records]
    if len(set(resolved)) != len(resolved):
        raise ValueError(f"--record names a folder twice ({', '.join(records)}): its groups would count twice")
    torch.manual_seed(config.seed)
    for record in records:  # before the rewards load
        scene_files(record)
    image, video, pretraining = _load_init(init, device, config.recent_frames)
    train_groups, tuning_by_record = [], {}
    for record in records:
        train_part, tuning_part = load_groups(record, partial(prepare, video=video))
        train_groups += train_part
        tuning_by_record[record] = tuning_part
    tuning_groups = [g for groups in tuning_by_record.values() for g in groups]
    if not train_groups or not tuning_groups:
        raise ValueError(f"{', '.join(records)}: {len(train_groups)} training and {len(tuning_groups)} tuning groups; "
                         f"both are needed: record at least {TUNING_EVERY} scenes (scenes {TUNING_EVERY - 1}, "
                         f"{2 * TUNING_EVERY - 1}, ... are the tuning scenes; --num-scenes {TUNING_EVERY} or more)")
    synthetic = _synthetic_config(video, config)

    def reports() -> tuple[dict, dict[str, dict]]:
        """The report on all tuning groups, and on each recording's (its search answers to its own
        scenes); the groups are scored once."""
        rows = score_groups(image, video, tuning_groups, config)
        by_record, first = {}, 0
        for record, groups in tuning_by_record.items():
            by_record[record] = sibling_report(rows[first : first + len(groups)], config)
            first += len(groups)
        return sibling_report(rows, config), by_record

    def tuning_fused() -> float | None:
        return sibling_report(score_groups(image, video, tuning_groups, config), config)["fused"]

    tuning, by_record = reports()
    before = {"tuning": tuning, "by_record": by_record,
              "rendered_eval": evaluate(image, video, synthetic, "eval", device)}
    logger.info("before: tuning fused agreement %s", before["tuning"]["fused"])
    params = list(image.parameters()) + list(video.parameters())
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    loader = iter(sample_loader(SampleStream(partial(sample_pair, split="train", config=synthetic), synthetic.seed),
                                synthetic.batch_size, synthetic.workers, device)) if config.synthetic_weight else None
    g = torch.Generator().manual_seed(config.seed)
    best = BestState(image, video, before["tuning"]["fused"])
    history, window, t0, steps_done = [], defaultdict(list), time.time(), 0
    for step in range(config.steps):
        done_share = run_progress(step, config.steps, time.time() - t0, config.max_minutes)
        if done_share >= 1:
            break
        for group in opt.param_groups:
            group["lr"] = config.lr * lr_factor(done_share)
        pick = torch.randint(len(train_groups), (config.groups_per_batch,), generator=g).tolist()
        picked = [train_groups[i] for i in pick]
        batch = make_batch([rolled(x, g) for x in picked] if config.roll else picked, config.tau)
        losses = train_step(image, video, opt, batch, next(loader) if loader is not None else None, config)
        steps_done = step + 1
        for key, value in losses.items():
            window[key].append(value)
        if steps_done % config.log_every == 0:
            history.append({"step": steps_done, "seconds": round(time.time() - t0, 1),
                            **{k: round(sum(v) / len(v), 4) for k, v in window.items()}})
            window.clear()
            logger.info("step %d %s", steps_done, history[-1])
        if steps_done % config.eval_every == 0:
            best.offer(steps_done, tuning_fused())
    if steps_done % config.eval_every:
        best.offer(steps_done, tuning_fused())
    best.restore()
    if all(check["tuning_fused"] is None for check in best.checks):
        logger.warning("no tuning pair's truths differ by more than min_gap=%s, so no step could be judged and the "
                       "starting weights are kept: record more scenes (every %dth is a tuning scene) or lower "
                       "--min-gap", config.min_gap, TUNING_EVERY)
    tuning, by_record = reports()
    after = {"tuning": tuning, "by_record": by_record,
             "rendered_eval": evaluate(image, video, synthetic, "eval", device)}
    logger.info("after (step %d kept): tuning fused agreement %s", best.step, after["tuning"]["fused"])
    summary = {
        "rank_config": asdict(config), "init": str(init or DEFAULT_WEIGHTS_DIR), "records": records,
        "groups": {"train": len(train_groups), "tuning": len(tuning_groups)}, "device": str(device),
        "seconds": round(time.time() - t0, 1), "kept_step": best.step, "history": history, "tuning_checks": best.checks,
        "sibling_agreement": {"before": before["tuning"], "after": after["tuning"]},
        "sibling_agreement_by_record": {"before": before["by_record"], "after": after["by_record"]},
        "rendered_accuracy_eval": {"before": before["rendered_eval"], "after": after["rendered_eval"]},
        "pretraining": pretraining,
    }
    image.save_pretrained(out, summary)
    video.save_pretrained(out, summary)
    atomic_write_json(Path(out) / "rank_rewards.json", summary)
    return summary


# What each setting of RankRewardsConfig does, for --help
SETTING_HELP = {
    "steps": "optimiser steps",
    "groups_per_batch": "recorded sibling groups per step",
    "min_gap": "truths closer than this give no pair (as the agreement measure)",
    "tau": "the search's cap on the image reward's weight (search.tau), for the fused loss",
    "video_weight": "weight of the video reward's ranking loss",
    "image_weight": "weight of the image reward's ranking loss",
    "fused_weight": "weight of the fused score's ranking loss (what the search prunes by)",
    "part_weight": "weight of each video-reward part ranked against its own truth",
    "synthetic_weight": "weight of train-rewards' losses on rendered clips (0: sibling groups only)",
    "synthetic_batch": "rendered clips per step",
    "lr": "learning rate",
    "weight_decay": "AdamW weight decay",
    "seed": "seed of the batches and rolls",
    "workers": "processes rendering the synthetic batches (0: this one)",
    "log_every": "steps between log lines",
    "eval_every": "steps between tuning-agreement checks (the best check's weights are kept)",
    "eval_batches": "rendered-clip accuracy batches per check",
    "max_minutes": "stop after this much time (default: run every step)",
    "recent_frames": "frames of the video reward's plan taken at full rate from the clip's end (default: the init's)",
    "roll": "roll each group's frames by one random offset that keeps its scene, so scenes cannot be told "
            "apart by where things are",
}


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    from streamt1.cli import HelpFormatter  # here, not above: the command line imports the whole API

    p = argparse.ArgumentParser(prog=prog, formatter_class=HelpFormatter, description=__doc__.split("\n")[0])
    p.add_argument("--record", required=True, nargs="+",
                   help="folder(s) of scene-*.pt from streamt1.sprites.siblings")
    p.add_argument("--init", default=None, help="folder with the rewards to start from (default: built in)")
    p.add_argument("--out", required=True, help="folder for image_reward.* / video_reward.* / rank_rewards.json")
    add_device_option(p)
    defaults = RankRewardsConfig()
    for field, value in asdict(defaults).items():
        flag = f"--{field.replace('_', '-')}"
        described = SETTING_HELP[field] + ("" if field in ("max_minutes", "recent_frames") else " (default: %(default)s)")
        if isinstance(value, bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=value, help=described)
        elif field in ("max_minutes", "recent_frames"):
            p.add_argument(flag, type=float if field == "max_minutes" else int, default=None, help=described)
        else:
            p.add_argument(flag, type=type(value), default=value, help=described)
    args = p.parse_args(argv)
    check_writable_folder(args.out)  # before the work, not at its save
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = config_from_flags(p, lambda: RankRewardsConfig(**{k: getattr(args, k) for k in asdict(defaults)}))
    summary = finetune(config, args.record, args.init, args.out, resolve_device(args.device, "--device"))
    keys = ("fused", "fused_same_parent", "fused_cross_parent", "video_vs_truth", "image_vs_image_truth", "pairs")
    print(json.dumps({"kept_step": summary["kept_step"], "sibling_agreement_tuning": {
        k: {m: v[m] for m in keys} for k, v in summary["sibling_agreement"].items()},
        "fused_by_record": {k: {r: v[r]["fused"] for r in v} for k, v in summary["sibling_agreement_by_record"].items()},
    }, indent=1))

if __name__ == "__main__":
    main()
