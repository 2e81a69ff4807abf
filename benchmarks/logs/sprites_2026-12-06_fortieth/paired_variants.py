"""The fortieth session's tuning screen (calls.sh, CALL=TUNE): each Stream-T1 setting minus the default Stream-T1
(the thirty-ninth session's runs with the track reward), paired by prompt and seed on the tuning split (CPU, seconds):

    python benchmarks/logs/sprites_2026-12-06_fortieth/paired_variants.py FOLDER [LABEL ...]

FOLDER holds benchmarks/sprites_tuning.py's ``LABEL-{32,48}-s{5,6,7}.json``; the default's are read from
logs/sprites_2026-12-06_thirtyninth/parts/runs/TA (``track-...``). ``chk`` compares the device's rerun of four
default videos with the stored ones.
"""
import json
import sys
from pathlib import Path

from streamt1.metrics.stats import paired_difference

LOWER_IS_BETTER = {"imaging_vs_render"}
RULE_METRICS = ("subject_consistency", "text_alignment")
folder = Path(sys.argv[1])
labels = sys.argv[2:] or ["S5", "D02", "T02", "F16"]
base_folder = Path(__file__).resolve().parents[1] / "sprites_2026-12-06_thirtyninth/parts/runs/TA"


def scores(where: Path, label: str) -> dict:
    """metric -> {(seed, prompt): value} over the runs found."""
    out: dict = {}
    for seed in (5, 6, 7):
        for offset in (32, 48):
            path = where / f"{label}-{offset}-s{seed}.json"
            if path.is_file():
                run = json.loads(path.read_text())
                for key, values in run["scores"].items():
                    out.setdefault(key, {}).update({(seed, offset + i): v for i, v in enumerate(values)})
    return out


base = scores(base_folder, "track")
check = scores(folder, "chk")
if check:
    diffs = [abs(check[k][i] - base[k][i]) for k in check for i in check[k] if k in base and i in base[k]]
    print(f"chk: {len(check['text_alignment'])} default videos rerun, largest metric difference from the stored "
          f"runs {max(diffs):.2e}")
for label in labels:
    run = scores(folder, label)
    if not run:
        print(f"{label}: no runs")
        continue
    common = sorted(set(run["text_alignment"]) & set(base["text_alignment"]))
    print(f"\n{label} - Stream-T1 default, tuning split ({len(common)} videos; points, 95 %):")
    gains, losses = [], []
    for k in [k for k in run if k in base and not k.startswith("reward")]:
        d = paired_difference({i: run[k][i] for i in common}, {i: base[k][i] for i in common})
        lo, hi = 100 * (d.mean - d.half_width), 100 * (d.mean + d.half_width)
        worse = lo > 0.5 if k in LOWER_IS_BETTER else hi < -0.5
        mean_base = 100 * sum(base[k][i] for i in common) / len(common)
        print(f"  {k:24s} default {mean_base:5.1f}  {label} - default {100 * d.mean:+5.1f} ± {100 * d.half_width:.1f}"
              + ("  worse beyond noise" if worse else "") + ("  better beyond noise" if k in RULE_METRICS and lo > 0 else ""))
        if k in RULE_METRICS and lo > 0:
            gains.append((lo, k))
        if worse and k != "imaging_quality":
            losses.append(k)
    verdict = "passes" if gains and not losses else "fails"
    print(f"  rule: {verdict} (gains beyond noise: {gains or 'none'}; worse beyond noise: {losses or 'none'})")
