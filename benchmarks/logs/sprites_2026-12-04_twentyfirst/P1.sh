#!/usr/bin/env bash
# Call P1 (twenty-first session): the Sprites model told each frame's progress through the video.
# Why: on the reported split every caption with "then the background turns ..." scores background
# alignment ~0.5 at 5 s and at 30 s (the first background right, the last wrong), and the captions'
# events fall in 20-90 % of the clip, whose length a streaming model never sees.
#  * P = H + WanConfig.progress_embedding (`sprites train --init H --progress`, zero-initialised, so it
#    starts as H), H's recipe at lr 3e-4 for MIN minutes;
#  * decision: plain generation and Stream-T1 on the tuning split (prompts 32-63, seed 5, 96 frames),
#    halves in parallel, paired with H's runs of earlier sessions (GPU runs are bit-exact across sessions);
#  * run alongside, read after the decision: plain generation on the reported split (prompts 0-31 x
#    seeds 0-3, 81 frames) and at 30 s (prompts 0-7 x seeds 0-3, 480 frames).
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
mkdir -p runs/P
python3 -m streamt1.sprites.train --out runs/P --init $W --progress --steps 100000 --lr 3e-4 --batch-size 64 \
  --reuse 4 --workers 14 --motion-weight 4 --first-chunk-copies 4 --caption-dropout 0.1 \
  --max-minutes ${MIN:-6.0} --device cuda > runs/P/train.log 2>&1
tail -n 2 runs/P/train.log | cut -c1-300
python3 - <<'PY'
import json
h = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
r = json.load(open("runs/P/sprites_model.json")); r["stream_config"] = h["stream_config"]
json.dump(r, open("runs/P/sprites_model.json", "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* runs/P/
cp runs/P/sprites_model.safetensors runs/P/sprites_model.json $OUT/
export OMP_NUM_THREADS=1
L=${LIMIT:-150}
mkdir -p runs/tune
T="python3 benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --weights runs/P --out runs/tune"
for half in 32 48; do
  timeout $L $T --offset $half --label P-$half > runs/tune/P-$half.log 2>&1 &
  timeout $L $T --offset $half --method stream-t1 --label st1-P-$half > runs/tune/st1-P-$half.log 2>&1 &
done
ROOT=runs/rep5 OUT=runs/rep5 SEEDS="0 1 2 3" MAIN=none ABLATIONS= ORACLE_PROMPTS=0 LIMIT=$L WEIGHTS=runs/P \
  bash benchmarks/sprites_eval_gpu.sh > runs/rep5.log 2>&1 &
ROOT=runs/rep30 OUT=runs/rep30 PROMPTS=8 FRAMES=480 SEEDS="0 1 2 3" MAIN=none ABLATIONS= ORACLE_PROMPTS=0 LIMIT=$L \
  WEIGHTS=runs/P bash benchmarks/sprites_eval_gpu.sh > runs/rep30.log 2>&1 &
wait
grep -hv Warning runs/tune/*.log | cut -c1-400
tar czf $OUT/p1.tgz runs/P/*.json runs/P/train.log runs/tune runs/rep5 runs/rep30 runs/rep5.log runs/rep30.log
