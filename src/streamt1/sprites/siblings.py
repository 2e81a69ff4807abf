"""Record the model's own sibling candidates on train-split scenes, with their ground truth.

    python -m streamt1.sprites.siblings --out DIR --num-scenes 512 [--shard i --num-shards n] [--device cuda]

The search decides "which of these K*M continuations is better" at every chunk; rewards that are
to make that decision well are trained on exactly those decisions. This script runs a search
(:class:`~streamt1.agreement.RecordingSearch`) on train-split scenes and keeps, per scored chunk, a
:class:`SiblingGroup`: each candidate's frames as the image reward saw them, its reward window as
the video reward saw it (stored once per history, rebuilt exactly by :meth:`SiblingGroup.video_clips`),
and the analytic metrics of both (:mod:`streamt1.metrics.sprites`):

* ``window_metrics``: the candidate's reward window, the clip the video reward judges; the fused
  ground truth (:func:`~streamt1.agreement.fused_truth`) is read from them;
* ``chunk_metrics``: the candidate's own chunk, all the image reward sees; a frame can show the
  background, which sprites are there and their shapes (:data:`IMAGE_TRUTH_PARTS`), not motion or
  consistency over time.

Scenes are ``sample_scene(SCENE_SEED + i, "train")`` with varied captions; held-out colour x shape
pairs never occur in them, and a scene that had one would stop the run. Each scene's groups are one
file ``scene-<i>.pt`` written atomically, so a rerun (same folder, same settings) records only the
missing scenes, and ``--shard i --num-shards n`` splits the scenes between ``n`` processes. Every
``TUNING_EVERY``-th scene belongs to the tuning split (fusion and early stopping), the rest to training.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import Tensor

from streamt1 import api
from streamt1.agreement import RecordingSearch, fused_truth, truth_metrics
from streamt1.config import build_config
from streamt1.devices import resolve_device
from streamt1.evaluate import weight_digests
from streamt1.outputs.atomic import atomic_path, atomic_write_json, check_writable_folder
from streamt1.search.pool import CandidatePool, ChunkContext, Scores
from streamt1.search.pruning import mix_alpha
from streamt1.search.steps import reward_windows
from streamt1.sprites.captions import caption
from streamt1.sprites.training import add_device_option, check_settings
from streamt1.sprites.world import FPS, is_eval_scene, sample_scene

logger = logging.getLogger(__name__)

FORMAT = 1
SCENE_SEED = 7_000_000  # far from the eval scenes' seeds, so no scene is drawn twice by accident
TUNING_EVERY = 8  # scene i is in the tuning split when i % TUNING_EVERY == TUNING_EVERY - 1
MIN_TRUTH_FRAMES = 3  # the metrics need three frames (motion)
IMAGE_TRUTH_PARTS = ("alignment_background", "alignment_presence", "alignment_shape")
MANIFEST = "record.json"


@dataclass
class SiblingGroup:
    """The candidates of one scored chunk (``N`` of them, ``P`` live histories before the chunk)."""

    prompt: str
    fps: float
    chunk_index: int
    start_frame: int  # latent frame where the chunk starts
    num_frames: int  # latent frames of the whole video
    chunk_frames: int  # latent frames of a chunk
    short_frame_stride: int  # the image reward scored every k-th frame of a chunk
    parents: Tensor  # [N] long: each candidate's history
    chunks: Tensor  # [N, T_c, 3, H, W] uint8: each candidate's decoded chunk
    histories: Tensor  # [P, T_h, 3, H, W] uint8: each history's chunks inside the reward window
    window_metrics: dict[str, Tensor]  # name -> [N], on each candidate's reward window
    chunk_metrics: dict[str, Tensor]  # name -> [N], on each candidate's chunk
    recorded_fused: Tensor  # [N] the fused reward of the search that made the group

    def __len__(self) -> int:
        return len(self.parents)

    def image_frames(self) -> Tensor:
        """``[N, t, 3, H, W]`` uint8: the frames the image reward scored (averaged per candidate)."""
        return self.chunks[:, :: self.short_frame_stride]

    def video_clips(self) -> Tensor:
        """``[N, T_h + T_c, 3, H, W]`` uint8: the reward windows, as ``search.steps.reward_windows`` made them."""
        return torch.stack([torch.cat([self.histories[p], chunk]) for p, chunk in zip(self.parents.tolist(),
                                                                                       self.chunks)])

    def alpha(self, tau: float) -> float:
        """The search's weight of the image reward for this chunk under ``tau``."""
        return mix_alpha(self.start_frame, self.num_frames, self.chunk_frames, tau)

    def video_truth(self) -> Tensor:
        """``[N]`` the fused ground truth of each reward window (what the fused reward must order by)."""
        return fused_truth(self.window_metrics)  # elementwise on the [N] tensors

    def image_truth(self) -> Tensor:
        """``[N]`` mean of :data:`IMAGE_TRUTH_PARTS` on each candidate's chunk."""
        return torch.stack([self.chunk_metrics[k] for k in IMAGE_TRUTH_PARTS]).mean(0)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SiblingGroup:
        return cls(**data)


def _metric_table(clips: list[Tensor], prompt: str, fps: float) -> dict[str, Tensor]:
    rows = [truth_metrics(clip, prompt, fps) for clip in clips]
    return {k: torch.tensor([r[k] for r in rows], dtype=torch.float64) for k in rows[0]}


class SiblingRecorder(RecordingSearch):
    """A search that keeps a :class:`SiblingGroup` (in ``groups``) for every scored chunk."""

    def record(self, ctx: ChunkContext, pool: CandidatePool, scores: Scores,
               judged: Mapping[str, Scores] | None = None) -> None:
        if judged:
            raise ValueError("a sibling record keeps the search's own scores; judges have no place in it")
        spec, fps = self.generator.spec, self.generator.spec.fps
        chunks = pool.frames.cpu()
        _, _, c, h, w = chunks.shape
        histories = torch.stack([
            torch.cat([node.frames.cpu() for node in parent.lineage(ctx.window)]) if parent is not None and ctx.window > 0
            else torch.zeros(0, c, h, w, dtype=chunks.dtype)
            for parent in ctx.histories
        ])
        group = SiblingGroup(
            prompt=ctx.prompt, fps=fps, chunk_index=ctx.index, start_frame=ctx.start_frame,
            num_frames=ctx.num_frames, chunk_frames=spec.latent_frames,
            short_frame_stride=self.config.short_frame_stride, parents=pool.parents.cpu().clone(),
            chunks=chunks.clone(), histories=histories, window_metrics={}, chunk_metrics={},
            recorded_fused=scores.fused.float().cpu(),
        )
        windows = reward_windows(ctx, pool)  # the engine owns the window rule; the group must rebuild it
        if not torch.equal(group.video_clips(), windows):
            raise RuntimeError("the recorded histories no longer rebuild search.steps.reward_windows; "
                               "update SiblingRecorder.record to the engine's window rule")
        group.window_metrics = _metric_table(list(windows), ctx.prompt, fps)
        own = chunks if chunks.shape[1] >= MIN_TRUTH_FRAMES else windows
        group.chunk_metrics = _metric_table(list(own), ctx.prompt, fps)
        self.groups.append(group)


# --------------------------------------------------------------------------- scenes and files


def train_prompt(index: int, num_frames: int) -> str:
    """The caption (varied wording) of train scene ``index``; refuses a scene with a held-out pair."""
    g = torch.Generator().manual_seed(SCENE_SEED + index)
    scene = sample_scene(g, "train", num_frames=num_frames)
    if is_eval_scene(scene):
        raise RuntimeError(f"train scene {index} shows a held-out colour x shape pair; refusing to record it")
    return caption(scene, g)


def is_tuning(index: int) -> bool:
    return index % TUNING_EVERY == TUNING_EVERY - 1


def scene_path(folder: Path, index: int) -> Path:
    return folder / f"scene-{index:06d}.pt"


def shard_scenes(num_scenes: int, shard: int, num_shards: int) -> list[int]:
    """The scenes of shard ``shard`` of ``num_shards`` (round robin, so each shard gets tuning scenes)."""
    if num_shards < 1 or not 0 <= shard < num_shards:
        raise ValueError(f"need 0 <= shard={shard} < num_shards={num_shards}")
    if num_scenes < 1:
        raise ValueError(f"num_scenes={num_scenes} must be >= 1")
    return list(range(shard, num_scenes, num_shards))


def save_scene(folder: Path, index: int, prompt: str, seed: int, groups: list[SiblingGroup]) -> Path:
    path = scene_path(folder, index)
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "scene": index, "prompt": prompt, "seed": seed, "split": "train",
                    "groups": [g.to_dict() for g in groups]}, tmp)
    return path


def load_scene(path: Path) -> tuple[int, list[SiblingGroup]]:
    data = torch.load(path, weights_only=True)
    if data.get("format") != FORMAT or data.get("split") != "train":
        raise ValueError(f"{path} is not a format-{FORMAT} train-split sibling record; record it again")
    return data["scene"], [SiblingGroup.from_dict(g) for g in data["groups"]]


def scene_files(folder: str | Path) -> list[Path]:
    """The recorded scene files in ``folder``, in scene order; none raises FileNotFoundError saying how to record."""
    paths = sorted(Path(folder).glob("scene-*.pt"))
    if not paths:
        raise FileNotFoundError(f"no scene-*.pt files in {folder}; record them with "
                                f"`streamt1 sprites record-siblings --out {folder}`")
    return paths


def load_groups(folder: str | Path, convert: Callable[[SiblingGroup], Any] = lambda g: g) -> tuple[list, list]:
    """(training groups, tuning groups) of every scene file in ``folder``, each passed through
    ``convert`` as its file is read (so a caller can keep less than whole groups in memory)."""
    train, tuning = [], []
    for path in scene_files(folder):
        index, groups = load_scene(path)
        (tuning if is_tuning(index) else train).extend(convert(g) for g in groups)
    return train, tuning


# --------------------------------------------------------------------------- recording


@dataclass(frozen=True)
class RecordConfig:
    method: str = "stream-t1"
    num_scenes: int = 512
    num_frames: int = 33  # latent frames per video (the agreement benchmark's length)
    weights: str | None = None  # generator (and pathway reward) folder; None: the built-in weights
    reward_weights: str | None = None  # folder with image_reward.* / video_reward.*; None: as --weights
    shard: int = 0
    num_shards: int = 1
    max_minutes: float | None = None  # start no new scene after this much time (rerun to continue)

    def __post_init__(self) -> None:
        check_settings(self)


def reward_specs(folder: str | None) -> dict[str, str] | None:
    """``config.rewards`` values that take both Sprites rewards from ``folder`` (None: the defaults)."""
    if folder is None:
        return None
    return {"image": f"sprites-image={folder}", "video": f"sprites-video={folder}"}


def _build_search(config: RecordConfig, device: str) -> tuple[SiblingRecorder, dict]:
    # the pathway rewards (those `rank-rewards` tunes, which learn from the search they drive), not the backend's
    # default track reward
    # (names alone are found under --weights, else built in)
    rewards = reward_specs(config.reward_weights) or {"image": "sprites-image", "video": "sprites-video"}
    run = build_config(config.method, None, [], rewards, num_frames=config.num_frames,
                       weights=config.weights, device=device, backend="sprites")
    components = api.load_components(run)
    search = SiblingRecorder(components.generator, run.search, components.image_reward, components.video_reward,
                             method=run.method)
    if not search.scores_chunks:
        raise ValueError(f"method {config.method!r} scores no chunks, so it has no siblings to record")
    search.generator.spec.num_chunks(config.num_frames)  # a length it cannot make, refused before the manifest
    manifest = {
        "format": FORMAT, "method": config.method, "num_frames": config.num_frames,
        "search": dataclasses.asdict(run.search), "weights": weight_digests(config.weights),
        "reward_weights": weight_digests(config.reward_weights or config.weights),
    }
    return search, manifest


def _check_manifest(folder: Path, manifest: dict) -> None:
    """Scenes in one folder come from one setting: a rerun with other settings is refused."""
    path = folder / MANIFEST
    if path.exists():
        old = json.loads(path.read_text())
        changed = sorted(k for k in set(old) | set(manifest) if old.get(k) != manifest.get(k))
        if changed:
            raise ValueError(f"{folder} holds scenes recorded with other settings ({', '.join(changed)}); "
                             "use another --out folder")
    else:
        atomic_write_json(path, manifest)


def record(config: RecordConfig, out: str | Path, device: str = "cpu") -> dict:
    """Record this shard's missing scenes into ``out``; returns counts of what was done."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    mine = shard_scenes(config.num_scenes, config.shard, config.num_shards)
    todo = [i for i in mine if not scene_path(folder, i).exists()]
    search, manifest = _build_search(config, device)
    _check_manifest(folder, manifest)
    t0, done, groups = time.time(), 0, 0
    for index in todo:
        if config.max_minutes is not None and time.time() - t0 > 60 * config.max_minutes:
            logger.info("time limit reached; %d scenes of this shard left for a rerun", len(todo) - done)
            break
        prompt = train_prompt(index, config.num_frames)
        search.groups = []
        search.run(prompt, config.num_frames, seed=index, progress=False)
        save_scene(folder, index, prompt, index, search.groups)
        done, groups = done + 1, groups + len(search.groups)
        logger.info("scene %d: %d groups (%d/%d, %.0f s)", index, len(search.groups), done, len(todo),
                    time.time() - t0)
    return {"recorded": done, "groups": groups, "already_there": len(mine) - len(todo), "left": len(todo) - done,
            "seconds": round(time.time() - t0, 1)}


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    from streamt1.cli import HelpFormatter  # here, not above: the command line imports the whole API

    p = argparse.ArgumentParser(prog=prog, formatter_class=HelpFormatter, description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="folder for scene-*.pt and record.json")
    p.add_argument("--method", default=RecordConfig.method,
                   help="the search whose sibling candidates are recorded (`streamt1 methods`; default: %(default)s)")
    p.add_argument("--num-scenes", type=int, default=RecordConfig.num_scenes,
                   help="train-split scenes to record (default: %(default)s)")
    p.add_argument("--num-frames", type=int, default=RecordConfig.num_frames,
                   help=f"latent frames per scene, one video frame each at {FPS} fps (default: %(default)s)")
    p.add_argument("--weights", default=None, help="Sprites weights folder (default: the built-in weights)")
    p.add_argument("--reward-weights", default=None, help="folder with image_reward.* and video_reward.*")
    p.add_argument("--shard", type=int, default=0, help="this process's share of the scenes, 0..num-shards-1")
    p.add_argument("--num-shards", type=int, default=1, help="processes recording into --out together (default 1)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop after this much time; a rerun records the scenes left (default: all scenes)")
    add_device_option(p)
    p.add_argument("--threads", type=int, default=1, help="CPU threads of this process (the metrics run on the CPU)")
    args = p.parse_args(argv)
    if args.threads < 1:
        raise ValueError(f"--threads {args.threads} is invalid: expected an integer >= 1")
    check_writable_folder(args.out)  # before the work, not at its save
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    config = RecordConfig(method=args.method, num_scenes=args.num_scenes, num_frames=args.num_frames,
                          weights=args.weights, reward_weights=args.reward_weights, shard=args.shard,
                          num_shards=args.num_shards, max_minutes=args.max_minutes)
    logger.info("done: %s", record(config, args.out, str(resolve_device(args.device, "--device"))))


if __name__ == "__main__":
    main()
