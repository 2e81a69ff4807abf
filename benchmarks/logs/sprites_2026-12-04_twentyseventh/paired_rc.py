"""RC.sh's Stream-T1 runs on the tuning split: the CPU-tuned rewards against the committed ones (seconds).

    python benchmarks/logs/sprites_2026-12-04_twentyseventh/paired_rc.py
"""
import json
from pathlib import Path

from streamt1.metrics.stats import paired_difference

tune = Path(__file__).parent / "RC" / "tune"
committed, tuned = (json.loads((tune / f"st1-{name}.json").read_text()) for name in ("committed", "tuned"))
assert (committed["prompts"], committed["seed"]) == (tuned["prompts"], tuned["seed"])
print(f"Stream-T1, {len(tuned['prompts'])} tuning prompts, seed {tuned['seed']}, CPU-tuned - committed rewards (points, 95 %):")
for name, values in tuned["scores"].items():
    d = paired_difference(dict(enumerate(values)), dict(enumerate(committed["scores"][name])))
    print(f"  {name:24s} {100 * sum(values) / len(values):5.1f}  {100 * d.mean:+.1f} ± {100 * d.half_width:.1f}")
