"""Background alignment by the number of captioned background changes, per method, from an evaluate folder:

    python benchmarks/logs/sprites_2026-12-06_fortysixth/background/by_changes.py RESULTS_JSON NUM_FRAMES NUM_PROMPTS
"""
import json, sys, collections
from streamt1.evaluate import eval_prompts
from streamt1 import api
from streamt1.metrics.stats import mean_ci
path, frames, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
v = json.load(open(path))['videos']
ps = eval_prompts(n, frames)
stem = {api.output_stem(p, s): p for p in ps for s in range(8)}
for method in [m for m in ("none", "stream-t1", "beam", "best-of-n") if m in v]:
    groups = collections.defaultdict(list)
    for k, x in v[method].items():
        groups[stem[k].count("the background turns")].append(x['alignment_background'])
    print(method, {c: f"{100*mean_ci(xs).mean:.1f} ± {100*mean_ci(xs).half_width:.1f} ({len(xs)})" for c, xs in sorted(groups.items())})
