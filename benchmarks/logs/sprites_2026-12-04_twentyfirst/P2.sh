#!/usr/bin/env bash
# Call P2 (twenty-first session): P (call P1) trained further with --event-share: half the items of
# scenes with events put one in the window after a chunk of context. P alone changed nothing on the
# event captions (background alignment 0.52 vs H 0.53 on the tuning split; on the CPU it never
# changed the background of "..., then the background turns green" in 96 frames).
# P1's reason: on the reported split every caption with "then the background turns ..." scores background
# alignment ~0.5 at 5 s and at 30 s (the first background right, the last wrong), and the captions'
# events fall in 20-90 % of the clip, whose length a streaming model never sees.
#  * P2 = P + MIN minutes of H's recipe at lr 3e-4 with --event-share SHARE (P's weights carried from P1);
#  * decision: plain generation and Stream-T1 on the tuning split (prompts 32-63, seed 5, 96 frames),
#    halves in parallel, paired with H's runs of earlier sessions (GPU runs are bit-exact across sessions);
#  * run alongside, read after the decision: plain generation on the reported split (prompts 0-31 x
#    seeds 0-3, 81 frames) and at 30 s (prompts 0-7 x seeds 0-3, 480 frames).
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
mkdir -p runs/P2
python3 -m streamt1.sprites.train --out runs/P2 --init ${INIT:-runs/P1_back/runs/P} --event-share ${SHARE:-0.5} --steps 100000 --lr 3e-4 --batch-size 64 \
  --reuse 4 --workers 14 --motion-weight 4 --first-chunk-copies 4 --caption-dropout 0.1 \
  --max-minutes ${MIN:-5.5} --device cuda > runs/P2/train.log 2>&1
tail -n 2 runs/P2/train.log | cut -c1-300
python3 - <<'PY'
import json
h = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
r = json.load(open("runs/P2/sprites_model.json")); r["stream_config"] = h["stream_config"]
json.dump(r, open("runs/P2/sprites_model.json", "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* runs/P2/
cp runs/P2/sprites_model.safetensors runs/P2/sprites_model.json $OUT/
export OMP_NUM_THREADS=1
L=${LIMIT:-150}
mkdir -p runs/tune
T="python3 benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --weights runs/P2 --out runs/tune"
for half in 32 48; do
  timeout $L $T --offset $half --label P2-$half > runs/tune/P2-$half.log 2>&1 &
  timeout $L $T --offset $half --method stream-t1 --label st1-P2-$half > runs/tune/st1-P2-$half.log 2>&1 &
done
ROOT=runs/rep5 OUT=runs/rep5 SEEDS="0 1 2 3" MAIN=none ABLATIONS= ORACLE_PROMPTS=0 LIMIT=$L WEIGHTS=runs/P2 \
  bash benchmarks/sprites_eval_gpu.sh > runs/rep5.log 2>&1 &
ROOT=runs/rep30 OUT=runs/rep30 PROMPTS=8 FRAMES=480 SEEDS="0 1 2 3" MAIN=none ABLATIONS= ORACLE_PROMPTS=0 LIMIT=$L \
  WEIGHTS=runs/P2 bash benchmarks/sprites_eval_gpu.sh > runs/rep30.log 2>&1 &
wait
grep -hv Warning runs/tune/*.log | cut -c1-400
tar czf $OUT/p2.tgz runs/P2/*.json runs/P2/train.log runs/tune runs/rep5 runs/rep30 runs/rep5.log runs/rep30.log
