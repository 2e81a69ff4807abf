"""Agreement of the Sprites rewards with the ground truth on a search's own sibling candidates.

    python benchmarks/sprites_reward_agreement.py --num-prompts 8 --offset 32 --seeds 0 --num-frames 33 \
        [--reward-weights DIR] [--set search.fusion=zscore --set search.tau=0.2] [--judge NAME=DIR ...]
        [--judge-track NAME=DIR ...]

``--reward-weights`` takes the pathway image and video rewards from another folder (e.g. rewards fine-tuned
by :mod:`streamt1.sprites.rank_rewards`) while the generator stays that of ``--weights``.
``--judge NAME=DIR`` (repeatable) also scores the search's own candidates with the pathway rewards in DIR
(``--judge-track NAME=DIR``: with the track reward in DIR),
and prints their agreement and its difference to the search's rewards on the same pairs (95 %
bootstrap interval over chunks): the way to compare rewards, since every search makes its own pairs.
Prompts ``offset ... offset + num_prompts - 1`` of the held-out list (offset 32: a tuning split,
not the first 32 that `streamt1 evaluate` reports). See :mod:`streamt1.agreement`.
"""

from __future__ import annotations

import argparse

from streamt1 import api
from streamt1.agreement import sibling_agreement
from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.sprites.rewards import SpritesImageReward, SpritesVideoReward
from streamt1.sprites.siblings import reward_specs
from streamt1.sprites.track_reward import SpritesTrackImageReward, SpritesTrackVideoReward, load_perception


def judge(spec: str, device, track: bool = False) -> tuple[str, tuple]:
    """NAME=DIR: the pathway rewards in DIR, or with ``track`` the track reward in DIR."""
    name, sep, folder = spec.partition("=")
    if not sep or not name or not folder:
        flag, files = ("--judge-track", "track_reward.*") if track else ("--judge", "image_reward.* and video_reward.*")
        raise SystemExit(f"{flag} {spec!r}: expected NAME=DIR (a folder with {files})")
    if track:
        perception = load_perception(folder, device)
        return name, (SpritesTrackImageReward(perception), SpritesTrackVideoReward(perception))
    return name, (SpritesImageReward.from_pretrained(folder, device), SpritesVideoReward.from_pretrained(folder, device))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--method", default="stream-t1")
    p.add_argument("--num-prompts", type=int, default=8)
    p.add_argument("--offset", type=int, default=32)
    p.add_argument("--seeds", default="0")
    p.add_argument("--num-frames", type=int, default=33)
    p.add_argument("--weights", default=None)
    p.add_argument("--reward-weights", default=None, help="folder with image_reward.* and video_reward.*")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override, repeatable")
    p.add_argument("--truth-window-chunks", type=int, default=None,
                   help="judge candidates on their last N chunks (default: the reward's window), so runs with "
                        "other search.long_window_chunks answer to the same truth")
    p.add_argument("--judge", action="append", default=[], metavar="NAME=DIR",
                   help="pathway rewards that also score the search's own candidates (repeatable)")
    p.add_argument("--judge-track", action="append", default=[], metavar="NAME=DIR",
                   help="a track reward that also scores the search's own candidates (repeatable)")
    p.add_argument("--device", default=None)
    args = p.parse_args()
    config = build_config(args.method, None, args.set, reward_specs(args.reward_weights),
                          num_frames=args.num_frames, weights=args.weights, device=args.device, backend="sprites")
    components = api.load_components(config)
    prompts = eval_prompts(args.offset + args.num_prompts, args.num_frames)[args.offset:]
    seeds = [int(s) for s in args.seeds.split(",")]
    search = api.make_search(config, components)
    named = [*(judge(spec, search.generator.device) for spec in args.judge),
             *(judge(spec, search.generator.device, track=True) for spec in args.judge_track)]
    judges = dict(named)
    if len(judges) < len(named):
        raise SystemExit("--judge / --judge-track: each judge needs its own NAME")
    result, judged = sibling_agreement(search, prompts, seeds, args.num_frames,
                                       truth_window_chunks=args.truth_window_chunks, judges=judges)
    truth = f"truth on the last {args.truth_window_chunks} chunks" if args.truth_window_chunks else "truth on the reward window"
    settings = " ".join([f"rewards: {args.reward_weights or args.weights or 'built in'}", truth, *args.set])
    print(f"{args.method} ({settings}): fused reward vs ground truth on sibling candidates: agreement "
          f"{result.agreement:.3f} over {result.pairs} pairs from {result.chunks} chunks "
          f"(image reward alone {result.image:.3f}, video reward alone {result.video:.3f}; siblings of one history "
          f"{result.same_parent:.3f} over {result.same_parent_pairs} pairs, of two histories {result.cross_parent:.3f})")
    for name, j in judged.items():
        diff, low, high = j.difference
        print(f"  judge {name} on the same candidates: agreement {j.agreement.agreement:.3f} over "
              f"{j.agreement.pairs} pairs (image alone {j.agreement.image:.3f}, video alone {j.agreement.video:.3f}); "
              f"minus the search's rewards {diff:+.3f} [{low:+.3f}, {high:+.3f}]")


if __name__ == "__main__":
    main()
