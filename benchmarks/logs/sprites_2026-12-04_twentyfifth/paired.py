"""Twenty-fifth session, paired differences from the calls' saved scores (CPU, seconds):

    python benchmarks/logs/sprites_2026-12-04_twentyfifth/paired.py

* S2 (P4 + 2,287 steps with --misdrawn-share 0.3) and S3 (S2 + 1,800 steps at 0.15) against P4, plain
  generation on the tuning split, prompts 32-63 x seeds 5 (calls X2, X4), 6 and 7 (calls X3, X4): 96
  videos each;
* Stream-T1 with S3 (CPU, after the calls: `OMP_NUM_THREADS=1 python benchmarks/sprites_tuning.py --weights
  runs/S3 --method stream-t1 --num-prompts 16 --num-frames 96 --offset 32|48 --label st1-S3-32|48`) against
  Stream-T1 with P4 and the same rewards (H200, twenty-fourth session's call V2), tuning split, seed 5;
* at 30 s (prompts 0-7 x seeds 0-3, 480 frames; R9 = R8's plain, best-of-n, beam and Stream-T1 merged
  with the ablations of calls X1 + X3): each ablation and baseline against the full method.
"""
import json
from pathlib import Path

from streamt1.metrics.stats import paired_difference

here = Path(__file__).parent


def tuning(label_of) -> dict:
    out: dict = {}
    for seed in (5, 6, 7):
        for half in (32, 48):
            run = json.loads((here / label_of(seed, half)).read_text())
            for key, values in run["scores"].items():
                out.setdefault(key, {}).update({(seed, half, i): v for i, v in enumerate(values)})
    return out


def show(name: str, a: dict, b: dict) -> None:
    keys = [k for k in a if k in b and not k.startswith("reward")]
    diffs = {k: paired_difference(a[k], b[k]) for k in keys}
    n = len(next(iter(a.values())).keys() & next(iter(b.values())).keys())
    print(f"{name} ({n} videos; points, 95 %):")
    print("  " + ", ".join(f"{k} {100 * d.mean:+.1f} ± {100 * d.half_width:.1f}" for k, d in diffs.items()))


s2 = tuning(lambda seed, half: f"X2/tune/S2-{half}.json" if seed == 5 else f"X3/tune/S2-{half}-s{seed}.json")
p4 = tuning(lambda seed, half: f"X2/tune/P4now-{half}.json" if seed == 5 else f"X3/tune/P4-{half}-s{seed}.json")
show("S2 - P4, plain generation, tuning split", s2, p4)
s3 = tuning(lambda seed, half: f"X4/tune/S3-{half}.json" if seed == 5 else f"X4/tune/S3-{half}-s{seed}.json")
show("S3 - P4, plain generation, tuning split", s3, p4)
show("S3 - S2, plain generation, tuning split", s3, s2)


def seed5(folder_of_half) -> dict:
    out: dict = {}
    for half in (32, 48):
        for key, values in json.loads(Path(folder_of_half(half)).read_text())["scores"].items():
            out.setdefault(key, {}).update({(half, i): v for i, v in enumerate(values)})
    return out


v2 = here.parent / "sprites_2026-12-04_twentyfourth" / "V2"
show("Stream-T1 with S3 (CPU) - with P4 (H200), tuning split, seed 5",
     seed5(lambda h: here / "cpu_st1" / f"st1-S3-{h}.json"), seed5(lambda h: v2 / f"st1-tuned-{h}.json"))

videos = json.loads((here / "R9" / "results.json").read_text())["videos"]
by_metric = {m: {k: {v: s[k] for v, s in per.items()} for k in next(iter(per.values()))} for m, per in videos.items()}
for method in ("stream-t1-early", "stream-t1-no-noise", "stream-t1-no-pruning", "stream-t1-no-sinking", "beam",
               "best-of-n", "none"):
    show(f"30 s, stream-t1 - {method}", by_metric["stream-t1"], by_metric[method])
