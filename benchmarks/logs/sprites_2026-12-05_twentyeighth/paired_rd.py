"""RD.sh's Stream-T1 run on the tuning split: the rewards fine-tuned on more of M2's candidates against the
committed ones (the twenty-seventh session's RC run with the same settings; seconds).

    python benchmarks/logs/sprites_2026-12-05_twentyeighth/paired_rd.py
"""
import json
from pathlib import Path

from streamt1.metrics.stats import paired_difference

here = Path(__file__).parent
committed = json.loads((here.parent / "sprites_2026-12-04_twentyseventh" / "RC" / "tune" / "st1-committed.json").read_text())
tuned = json.loads((here / "RD" / "tune" / "st1-tuned.json").read_text())
assert (committed["prompts"], committed["seed"]) == (tuned["prompts"], tuned["seed"])
print(f"Stream-T1, {len(tuned['prompts'])} tuning prompts, seed {tuned['seed']}, RD-tuned - committed rewards (points, 95 %):")
for name, values in tuned["scores"].items():
    if name not in committed["scores"]:  # imaging_vs_render: stored since the twenty-seventh session's runs
        continue
    d = paired_difference(dict(enumerate(values)), dict(enumerate(committed["scores"][name])))
    print(f"  {name:24s} {100 * sum(values) / len(values):5.1f}  {100 * d.mean:+.1f} ± {100 * d.half_width:.1f}")
