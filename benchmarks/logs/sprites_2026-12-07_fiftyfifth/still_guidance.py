"""Does guidance away from a still past keep a continuation's speed?

    python benchmarks/logs/sprites_2026-12-07_fiftyfifth/still_guidance.py [--weights DIR] [--num-scenes 24] \
        [--scales 0,0.5,1,2] [--chunks 6]

For the held-out straight movers of ``benchmarks/sprites_motion_start.py`` (one seed), continues the 9-frame clean
rendered context with ``continue_stream(..., still_guidance=w)`` for each scale w (0: the model's own flow), and
prints the motion match, the detected share, the displacement along the caption over the continuation and chunk by
chunk (pixels; the render's first).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import sprites_motion_start as probe  # noqa: E402
from streamt1.devices import resolve_device  # noqa: E402
from streamt1.sprites.captions import caption  # noqa: E402
from streamt1.sprites.model import SpritesVideoModel  # noqa: E402
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR  # noqa: E402
from streamt1.sprites.world import render_at  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    p.add_argument("--num-scenes", type=int, default=24)
    p.add_argument("--chunks", type=int, default=6)
    p.add_argument("--scales", default="0,0.5,1,2")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    device = resolve_device(args.device)
    model = SpritesVideoModel.from_pretrained(args.weights).eval().to(device)
    c, context = model.stream.chunk_frames, 9
    total = context + c * args.chunks
    scenes = probe.straight_scenes(args.num_scenes, total)
    captions = [caption(scene) for scene in scenes]
    frames = torch.stack([render_at(scene, torch.arange(total)) for scene in scenes]).to(device)
    rows = {"render": frames[:, context:]}
    for w in (float(v) for v in args.scales.split(",")):
        rows[f"still guidance {w:g}"] = probe.continue_stream(model, frames[:, :context], captions, args.chunks, 0,
                                                              still_guidance=w)
    print(f"{args.weights}: {len(scenes)} held-out straight movers, {args.chunks} chunks after {context} clean frames; "
          "motion match / detected %, px along the caption (mean, share > 0), then px chunk by chunk (chunks 2 on)")
    for name, video in rows.items():
        match, detected = probe.motion_scores(video, scenes)
        px = probe.displacement(video, scenes)
        profile = probe.chunk_profile(video, scenes, c)
        print(f"  {name:22s} {100 * match:5.1f} {100 * detected:5.1f} {float(px.mean()):+6.2f} "
              f"{float((px > 0).float().mean()):4.2f}   " + " ".join(f"{v:+5.2f}" for v in profile.tolist()), flush=True)


if __name__ == "__main__":
    main()
