"""Motion alignment of each method's videos by the captioned kind of motion, size and sprite count.

    python benchmarks/logs/sprites_2026-12-07_fortyeighth/motion_by_kind.py RESULTS_FOLDER NUM_PROMPTS NUM_FRAMES

RESULTS_FOLDER: a merged `streamt1 evaluate` folder (its results.json) on the sprites suite's held-out prompts.
A video's motion alignment is one number over its sprites, so a video with several sprites counts once under
each of its sprites' kinds and sizes (the count column: videos x their sprites of that kind; videos for the
sprite-count rows): a rough reading of where motion is lost, not a per-sprite score.
"""

import collections
import json
import statistics
import sys
from pathlib import Path

from streamt1.outputs.naming import prompt_names
from streamt1.sprites.captions import parse_caption
from streamt1.suites import load_suite

folder, num_prompts, num_frames = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
videos = json.loads((folder / "results.json").read_text())["videos"]
suite = load_suite("sprites", num_prompts, num_frames)
groups: dict[str, dict[tuple, list[float]]] = collections.defaultdict(lambda: collections.defaultdict(list))
for item, name in zip(suite.items, prompt_names([i.eval_prompt for i in suite.items])):
    sprites = parse_caption(item.prompt, num_frames).all_sprites
    for method, by_video in videos.items():
        for key, record in by_video.items():
            if key.rsplit("-", 1)[0] != name:
                continue
            groups[method][("sprites", len(sprites))].append(record["alignment_motion"])
            for sprite in sprites:
                groups[method][("motion", sprite.motion)].append(record["alignment_motion"])
                groups[method][("size", sprite.size)].append(record["alignment_motion"])
methods = [m for m in ("none", "best-of-n", "beam", "stream-t1", "world") if m in groups]
print("| group | count (none) | " + " | ".join(methods) + " |")
print("|---|---|" + "---|" * len(methods))
for group in sorted(groups["none"], key=lambda g: (g[0], str(g[1]))):
    means = [f"{100 * statistics.mean(groups[m][group]):.1f}" for m in methods]
    print(f"| {group[0]} {group[1]} | {len(groups['none'][group])} | " + " | ".join(means) + " |")
