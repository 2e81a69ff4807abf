"""Background alignment on the tuning split by the number of captioned background changes, a candidate minus a
baseline (paired videos, points, 95 %):

    python benchmarks/logs/sprites_2026-12-07_fiftyfifth/by_changes_tune.py NAME DIR BASE_NAME BASE_DIR

DIR and BASE_DIR hold ``sprites_tuning.py`` runs labelled NAME-<suffix> and BASE_NAME-<suffix> (96 frames).
"""
import collections
import glob
import json
import sys

from streamt1.metrics.stats import mean_ci
from streamt1.sprites.captions import parse_caption


def load(folder: str, name: str) -> dict:
    out = {}
    for path in sorted(glob.glob(f"{folder}/{name}-*.json")):
        run = json.load(open(path))
        for i, prompt in enumerate(run["prompts"]):
            out[(path.split(name + "-")[1], i)] = (prompt, run["scores"]["alignment_background"][i])
    return out


name, folder, base_name, base_folder = sys.argv[1:5]
ours, theirs = load(folder, name), load(base_folder, base_name)
groups = collections.defaultdict(list)
for key, (prompt, score) in ours.items():
    changes = len(parse_caption(prompt, 96).background_changes()) - 1
    groups[changes].append((score, theirs[key][1]))
for changes, pairs in sorted(groups.items()):
    diff = mean_ci([a - b for a, b in pairs])
    print(f"{changes} change(s), {len(pairs):3d} videos: {base_name} {100 * sum(b for _, b in pairs) / len(pairs):5.1f}, "
          f"{name} {100 * sum(a for a, _ in pairs) / len(pairs):5.1f}, {name} - {base_name} "
          f"{100 * diff.mean:+.1f} ± {100 * diff.half_width:.1f}")
