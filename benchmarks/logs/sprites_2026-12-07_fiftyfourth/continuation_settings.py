"""Does the committed model keep more of a moving context's speed with more denoising steps, or with a wider
attention window at sampling time only (the weights trained on 9 frames)?

    python benchmarks/logs/sprites_2026-12-07_fiftyfourth/continuation_settings.py --steps 8,24
    python benchmarks/logs/sprites_2026-12-07_fiftyfourth/continuation_settings.py --context-frames 21 --chunks 8 \
        --windows 9,15,21

For the held-out straight movers of ``benchmarks/sprites_motion_start.py`` (one seed), continues the clean
rendered context with each setting and prints the motion match, the detected share, the total displacement along
the caption and the displacement chunk by chunk (pixels; the render's first).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
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
    p.add_argument("--num-scenes", type=int, default=12)
    p.add_argument("--chunks", type=int, default=6)
    p.add_argument("--context-frames", type=int, default=9)
    p.add_argument("--steps", default="8", help="denoising steps per chunk, evenly spaced from t=1000 (8: the "
                                                "committed schedule itself)")
    p.add_argument("--windows", default="9")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    torch.set_grad_enabled(False)
    device = resolve_device(args.device, "--device")
    model = SpritesVideoModel.from_pretrained(DEFAULT_WEIGHTS_DIR).eval().to(device)
    committed = model.stream
    total = args.context_frames + committed.chunk_frames * args.chunks
    scenes = probe.straight_scenes(args.num_scenes, total)
    captions = [caption(s) for s in scenes]
    frames = torch.stack([render_at(s, torch.arange(total)) for s in scenes]).to(device)

    def row(name: str, video: torch.Tensor) -> str:
        profile = probe.chunk_profile(video, scenes, committed.chunk_frames)
        match, detected = probe.motion_scores(video, scenes)
        return (f"  {name:22s} match {100 * match:5.1f} detected {100 * detected:5.1f} total "
                f"{float(probe.displacement(video, scenes).mean()):+5.2f} | " + " ".join(f"{v:+5.2f}" for v in profile))

    print(f"{len(scenes)} held-out straight movers, {args.chunks} chunks after {args.context_frames} clean frames "
          f"({device})")
    print(row("render", frames[:, args.context_frames:]))
    for steps in (int(s) for s in args.steps.split(",")):
        schedule = committed.denoising_steps if steps == 8 else tuple(1000 - 1000 * i / steps for i in range(steps))
        for window in (int(w) for w in args.windows.split(",")):
            model.stream = dataclasses.replace(committed, denoising_steps=tuple(float(s) for s in schedule),
                                               window_frames=window)
            start = time.time()
            video = probe.continue_stream(model, frames[:, :args.context_frames], captions, args.chunks, 0)
            print(row(f"{steps} steps, window {window}", video), f"({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
