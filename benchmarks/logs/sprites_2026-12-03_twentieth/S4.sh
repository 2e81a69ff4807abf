#!/usr/bin/env bash
# Call S4 (twentieth session): Stream-T1 on the tuning split (prompts 32-63, seed 5, 96 frames) with
# the rewards fine-tuned on the CPU with the 'stalled' negative (carried in runs/Wstall: the default
# model plus those rewards), paired with S3's Stream-T1 at the default rewards (bit-exact on this GPU).
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
nvidia-smi --query-gpu=name --format=csv,noheader
mkdir -p runs/s4
T="python3 benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --method stream-t1 --out runs/s4"
for half in 32 48; do
  timeout 190 $T --offset $half --weights runs/Wstall --label st1-stall-$half > runs/s4/t$half.log 2>&1 &
done
timeout 190 python3 benchmarks/sprites_readme_prompt.py --weights runs/Wstall --out runs/s4 > runs/s4/readme.log 2>&1 &
wait
grep -hv Warning runs/s4/t*.log | cut -c1-200
grep -v Warning runs/s4/readme.log | tail -n 5
python3 - <<'PY'
import json
from pathlib import Path
from streamt1.metrics.stats import paired_difference
base = Path("benchmarks/logs/sprites_2026-12-03_twentieth/S3/tune")
def load(d, label):
    parts = [json.loads((Path(d) / f"{label}-{h}.json").read_text()) for h in (32, 48)]
    return {k: parts[0]["scores"][k] + parts[1]["scores"][k] for k in parts[0]["scores"]}
new, old = load("runs/s4", "st1-stall"), load(base, "st1-tau0.4")
keys = ["subject_consistency", "text_alignment", "alignment_background", "alignment_presence", "alignment_shape",
        "alignment_motion"]
diffs = {k: paired_difference(dict(enumerate(new[k])), dict(enumerate(old[k]))) for k in keys}
print("stalled-tuned - committed rewards:", ", ".join(f"{k} {100 * x.mean:+.1f} ± {100 * x.half_width:.1f}" for k, x in diffs.items()))
PY
tar czf $OUT/s4.tgz runs/s4
