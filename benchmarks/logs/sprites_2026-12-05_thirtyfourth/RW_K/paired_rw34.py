"""paired_rc.py adapted: RW_K/tune, both halves (prompts 32-47 and 48-63) concatenated, tuned - committed."""
import json, sys
from pathlib import Path
from streamt1.metrics.stats import paired_difference
tune = Path(sys.argv[1])
def load(name):
    out = {"prompts": [], "scores": {}}
    for half in (32, 48):
        d = json.loads((tune / f"st1-{name}-{half}.json").read_text())
        out["seed"] = d["seed"]; out["prompts"] += d["prompts"]
        for k, v in d["scores"].items(): out["scores"].setdefault(k, []).extend(v)
    return out
committed, tuned = load("committed"), load("tuned")
assert (committed["prompts"], committed["seed"]) == (tuned["prompts"], tuned["seed"])
print(f"Stream-T1, {len(tuned['prompts'])} tuning prompts, seed {tuned['seed']}, tuned - committed rewards (points, 95 %):")
for name, values in tuned["scores"].items():
    c = committed["scores"][name]
    d = paired_difference(dict(enumerate(values)), dict(enumerate(c)))
    print(f"  {name:24s} committed {100*sum(c)/len(c):5.1f}  tuned {100 * sum(values) / len(values):5.1f}  {100 * d.mean:+.1f} ± {100 * d.half_width:.1f}")
