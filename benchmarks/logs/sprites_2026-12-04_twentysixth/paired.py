"""Twenty-sixth session, paired differences from the calls' saved scores (CPU, seconds):

    python benchmarks/logs/sprites_2026-12-04_twentysixth/paired.py

M1 (P4 + 2,500 steps of P4's recipe with --misdrawn-first-share 0.5, call Z1) against P4, plain generation
on the tuning split, prompts 32-63 x seeds 5, 6, 7 (96 videos; P4's runs: the twenty-second session's
for seed 5, the twenty-fifth session's call X3 for seeds 6 and 7), and against S3 (the twenty-fifth
session's misdrawn-context model) on the same videos.
"""
import json
from pathlib import Path

from streamt1.metrics.stats import paired_difference

here = Path(__file__).parent
logs = here.parent


def tuning(label_of) -> dict:
    out: dict = {}
    for seed in (5, 6, 7):
        for half in (32, 48):
            run = json.loads((logs / label_of(seed, half)).read_text())
            for key, values in run["scores"].items():
                out.setdefault(key, {}).update({(seed, half, i): v for i, v in enumerate(values)})
    return out


def show(name: str, a: dict, b: dict) -> None:
    keys = [k for k in a if k in b and not k.startswith("reward")]
    diffs = {k: paired_difference(a[k], b[k]) for k in keys}
    n = len(next(iter(a.values())).keys() & next(iter(b.values())).keys())
    print(f"{name} ({n} videos; points, 95 %):")
    print("  " + ", ".join(f"{k} {100 * d.mean:+.1f} ± {100 * d.half_width:.1f}" for k, d in diffs.items()))
    print("  means: " + ", ".join(f"{k} {100 * sum(a[k].values()) / len(a[k]):.1f}" for k in keys))


p4 = tuning(lambda seed, half: f"sprites_2026-12-04_twentysecond/P4/tune/P4-{half}.json" if seed == 5
            else f"sprites_2026-12-04_twentyfifth/X3/tune/P4-{half}-s{seed}.json")
s3 = tuning(lambda seed, half: f"sprites_2026-12-04_twentyfifth/X4/tune/S3-{half}" + ("" if seed == 5 else f"-s{seed}") + ".json")
for name, label in (("M1", "Z1"), ("M2", "Z2")):
    model = tuning(lambda seed, half: f"sprites_2026-12-04_twentysixth/{label}/tune/{name}-{half}"
                   + ("" if seed == 5 else f"-s{seed}") + ".json")
    show(f"{name} - P4, plain generation, tuning split", model, p4)
    show(f"{name} - S3, plain generation, tuning split", model, s3)
