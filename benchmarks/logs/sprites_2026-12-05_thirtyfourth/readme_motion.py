"""Does any Stream-T1 candidate move the README prompt's sprite left, and do the rewards see it? (CPU)

    python benchmarks/logs/sprites_2026-12-05_thirtyfourth/readme_motion.py [--seeds 0,1,2,3] [--num-frames 162]

Runs the README's command (stream-t1, the built-in weights RO2 and rewards) through the sibling
recorder and prints, per seed: over the scored chunks, how often some candidate's reward window has
the captioned (leftward) motion (window `alignment_motion` > 0.5), how often the candidate with the best
fused reward has it, and how often the best reward goes to a candidate without it while a sibling has it.
Written after RO2's README prompt moved the sprite left on seed 0 only (thirty-fourth session).
"""

from __future__ import annotations

import argparse

from streamt1 import api
from streamt1.config import build_config
from streamt1.sprites.siblings import SiblingRecorder

PROMPT = "a small red circle moves left over a blue background"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--num-frames", type=int, default=162)
    args = p.parse_args()
    run = build_config("stream-t1", None, [], num_frames=args.num_frames, device="cpu", backend="sprites")
    components = api.load_components(run)
    print("seed | scored chunks | some candidate moves left | best-reward candidate moves left | "
          "best reward to a still one while a sibling moves")
    for seed in (int(s) for s in args.seeds.split(",")):
        search = SiblingRecorder(components.generator, run.search, components.image_reward, components.video_reward,
                                 method=run.method)
        search.run(PROMPT, args.num_frames, seed=seed, progress=False)
        some = best = missed = 0
        for g in search.groups:
            moves = g.window_metrics["alignment_motion"] > 0.5
            chosen = bool(moves[int(g.recorded_fused.argmax())])
            some += bool(moves.any())
            best += chosen
            missed += bool(moves.any()) and not chosen
        print(f"{seed:4d} | {len(search.groups):13d} | {some:25d} | {best:32d} | {missed:d}")


if __name__ == "__main__":
    main()
