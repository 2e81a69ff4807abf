"""Does a Sprites model draw a captioned background change when its context ends right where the change is due?

    python benchmarks/logs/sprites_2026-12-07_fiftyfifth/change_continuation.py [--weights DIR ...] \
        [--num-scenes 24] [--event-band 0.45 0.55] [--num-frames 96] [--chunks 6] [--lead 0] [--still-guidance W]

Held-out scenes (eval split, scene seeds 3000, 3001, ...) whose only event is one background change, the change
placed in ``--event-band`` of its slot (as ``sample_scene`` places it; 0.45-0.55 is where EVB was trained to
expect it). Each model continues the clean rendered frames up to the chunk boundary at or before the change
(``--lead`` chunks earlier) with ``--chunks`` chunks, in a video of ``--num-frames`` (the progress it reads), and
the script prints, chunk by chunk, the share of scenes whose chunk's last frame is nearer the new background than
the old (``sprites_background_changes.background_distance``), and the share at the last generated frame
(*followed*). The world's own frames first (the ceiling). Teacher forcing separates drawing a change from timing
it: the context is the world's, so only the change itself is the model's. ``--still-guidance``: the continuation's
``still_guidance`` (``sprites_motion_start.continue_stream``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import sprites_motion_start as probe  # noqa: E402
from sprites_background_changes import background_distance  # noqa: E402
from streamt1.devices import resolve_device  # noqa: E402
from streamt1.sprites.captions import caption  # noqa: E402
from streamt1.sprites.model import SpritesVideoModel  # noqa: E402
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR  # noqa: E402
from streamt1.sprites.world import EventKind, render_at, render_background, sample_scene  # noqa: E402


def change_scenes(count: int, frames: int, band: tuple[float, float]) -> list:
    """Held-out scenes whose only event is one background change."""
    scenes, seed = [], 3000
    while len(scenes) < count:
        scene = sample_scene(torch.Generator().manual_seed(seed), "eval", num_frames=frames, event_band=band)
        seed += 1
        if len(scene.events) == 1 and scene.events[0].kind is EventKind.BACKGROUND:
            scenes.append(scene)
    return scenes


def nearer_new(video: torch.Tensor, scene) -> torch.Tensor:
    """``[T]``: whether each frame of ``video [T, 3, H, W]`` is nearer the scene's new background than its old."""
    old, new = (render_background(spec, video.shape[-1]).to(video) for spec in
                (scene.background, scene.events[0].background))
    return background_distance(video, new) < background_distance(video, old)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", nargs="+", default=[str(DEFAULT_WEIGHTS_DIR)])
    p.add_argument("--num-scenes", type=int, default=24)
    p.add_argument("--event-band", type=float, nargs=2, default=(0.45, 0.55))
    p.add_argument("--num-frames", type=int, default=96)
    p.add_argument("--chunks", type=int, default=6)
    p.add_argument("--lead", type=int, default=0, help="chunks between the context's end and the change's chunk")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--still-guidance", type=float, default=0.0)
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    device = resolve_device(args.device)
    scenes = change_scenes(args.num_scenes, args.num_frames, tuple(args.event_band))
    rows: dict[str, list[torch.Tensor]] = {}
    for w in args.weights:
        model = SpritesVideoModel.from_pretrained(w).eval().to(device)
        c = model.stream.chunk_frames
        for scene in scenes:
            start = max(2 * c, (scene.events[0].frame // c - args.lead) * c)
            context = render_at(scene, torch.arange(start))[None].to(device)
            video = probe.continue_stream(model, context, [caption(scene)], args.chunks, args.seed,
                                          video_frames=args.num_frames,
                                          still_guidance=args.still_guidance)[0].float().clamp(0, 1).cpu()
            world = render_at(scene, torch.arange(start, start + c * args.chunks))
            rows.setdefault("render", []).append(nearer_new(world, scene)[c - 1::c])
            rows.setdefault(w, []).append(nearer_new(video, scene)[c - 1::c])
        rows["render"] = rows["render"][:len(scenes)]  # the same frames for every model
    frames = [s.events[0].frame for s in scenes]
    print(f"{len(scenes)} held-out scenes, one background change each at frames {min(frames)}-{max(frames)} of "
          f"{args.num_frames} (band {tuple(args.event_band)}), context up to {args.lead} chunk(s) before the change's "
          f"chunk; share nearer the new background at each generated chunk's last frame:")
    for name, per_scene in rows.items():
        shares = torch.stack(per_scene).float().mean(0)
        print(f"  {name:45s} " + " ".join(f"{100 * v:5.1f}" for v in shares.tolist()) +
              f"   followed {100 * float(shares[-1]):5.1f} %")


if __name__ == "__main__":
    main()
