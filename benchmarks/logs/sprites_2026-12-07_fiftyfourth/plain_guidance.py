"""Does classifier-free guidance on the later chunks start plain generation's straight movers?

    python benchmarks/logs/sprites_2026-12-07_fiftyfourth/plain_guidance.py [--num-scenes 24] [--num-frames 81]

Plain generation (committed weights, CPU, seed 0) of the held-out straight movers of
``benchmarks/sprites_motion_start.py`` under guidance settings; prints the motion match, the detected share and the
sprite's displacement along its caption over the frames after the first 9 (pixels; the render travels about
0.5 px per frame at speed 1).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import sprites_motion_start as probe  # noqa: E402
from streamt1 import api  # noqa: E402
from streamt1.config import build_config  # noqa: E402
from streamt1.sprites.captions import caption  # noqa: E402
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR  # noqa: E402

VARIANTS = {
    "the model's own (first chunk, scale 3)": [],
    "every chunk, sigma 0.85-1": ["run.guided_chunks=0", "run.guidance_sigmas=[0.85,1.0]"],
    "every chunk, sigma 0.6-1": ["run.guided_chunks=0", "run.guidance_sigmas=[0.6,1.0]"],
    "every chunk, sigma 0.6-0.85": ["run.guided_chunks=0", "run.guidance_sigmas=[0.6,0.85]"],
    "every chunk, scale 5": ["run.guided_chunks=0", "run.guidance_scale=5"],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--num-scenes", type=int, default=24)
    p.add_argument("--num-frames", type=int, default=81)
    args = p.parse_args()
    scenes = probe.straight_scenes(args.num_scenes, args.num_frames)
    captions = [caption(s) for s in scenes]
    for name, overrides in VARIANTS.items():
        start = time.time()
        config = build_config("none", None, overrides, weights=str(DEFAULT_WEIGHTS_DIR), device="cpu",
                              num_frames=args.num_frames)
        search = api.make_search(config, api.load_components(config))
        videos = torch.stack([search.run(c, args.num_frames, 0, progress=False).frames for c in captions])
        videos = videos[:, 9:].float() / 255
        match, detected = probe.motion_scores(videos, scenes)
        px = probe.displacement(videos, scenes)
        print(f"{name:38s} match {100 * match:5.1f} detected {100 * detected:5.1f} px {float(px.mean()):+6.2f} "
              f"share > 0 {float((px > 0).float().mean()):.2f} ({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
