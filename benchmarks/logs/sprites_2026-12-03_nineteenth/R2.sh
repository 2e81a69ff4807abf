#!/usr/bin/env bash
# Call R2 (nineteenth session): are the rewards of R1's rounds (carried in runs/r1_back/runs/r1) better
# than the committed ones? On held-out tuning prompts only (32-63; the reported 0-31 are not read):
#  * sibling agreement (prompts 32-47 x seeds 0, 1, 33 frames): each search's own pairs, the other
#    rewards judging the same pairs (--judge), as the eighth session measured the committed ones;
#  * Stream-T1 on the tuning split (prompts 32-63, seed 5, 96 frames) with the committed and with the
#    round-2 rewards, same GPU, paired per prompt; and plain generation (weights H) for reference;
#  * the README prompt with the round-2 rewards.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
B=runs/r1_back/runs/r1
for r in round1 round2; do
  mkdir -p runs/W$r && cp $W/sprites_model.* runs/W$r/ && cp $B/$r/image_reward.* $B/$r/video_reward.* runs/W$r/
done
mkdir -p runs/r2/agree runs/r2/tune runs/r2/readme
A="python3 benchmarks/sprites_reward_agreement.py --num-prompts 16 --offset 32 --seeds 0,1 --num-frames 33 --device cuda"
L=540
timeout $L $A --judge round1=runs/Wround1 --judge round2=runs/Wround2 > runs/r2/agree/committed.txt 2>&1 &
timeout $L $A --reward-weights runs/Wround1 --judge committed=$W > runs/r2/agree/round1.txt 2>&1 &
timeout $L $A --reward-weights runs/Wround2 --judge committed=$W > runs/r2/agree/round2.txt 2>&1 &
T="python3 benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --out runs/r2/tune"
for half in 32 48; do
  timeout $L $T --offset $half --weights $W --method stream-t1 --label st1-committed-$half > runs/r2/tune/c$half.log 2>&1 &
  timeout $L $T --offset $half --weights runs/Wround2 --method stream-t1 --label st1-round2-$half > runs/r2/tune/r$half.log 2>&1 &
done
timeout $L $T --num-prompts 32 --offset 32 --weights $W --label plain > runs/r2/tune/plain.log 2>&1 &
timeout $L python3 benchmarks/sprites_readme_prompt.py --weights runs/Wround2 --out runs/r2/readme > runs/r2/readme/round2.log 2>&1 &
wait
for f in runs/r2/agree/*.txt; do echo "== $f"; grep -v Warning $f | tail -n 12; done
grep -hv Warning runs/r2/tune/*.log | cut -c1-400
grep -v Warning runs/r2/readme/round2.log
python3 - <<'PY'
import json
from pathlib import Path
from streamt1.metrics.stats import paired_difference
d = Path("runs/r2/tune")
def load(label):
    parts = [json.loads((d / f"{label}-{h}.json").read_text()) for h in (32, 48)]
    return {k: parts[0]["scores"][k] + parts[1]["scores"][k] for k in parts[0]["scores"]}
runs = {"committed": load("st1-committed"), "round2": load("st1-round2"),
        "plain": json.loads((d / "plain.json").read_text())["scores"]}
json.dump(runs, open(d / "merged.json", "w"))
keys = ["subject_consistency", "text_alignment", "alignment_background", "alignment_presence", "alignment_shape",
        "alignment_motion"]
for a, b in (("round2", "committed"), ("committed", "plain"), ("round2", "plain")):
    diffs = {k: paired_difference(dict(enumerate(runs[a][k])), dict(enumerate(runs[b][k]))) for k in keys}
    print(f"{a} - {b}:", ", ".join(f"{k} {100 * x.mean:+.1f} ± {100 * x.half_width:.1f}" for k, x in diffs.items()))
PY
tar czf $OUT/r2.tgz runs/r2
