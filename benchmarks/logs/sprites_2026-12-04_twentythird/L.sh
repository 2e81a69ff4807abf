#!/usr/bin/env bash
# Calls L1, L2 (twenty-third session): is a much longer run what the Sprites model lacks?
#  * NAME = INIT + MIN minutes of P4's recipe (lr 3e-4, event share 0.25, H's other flags; teacher
#    forcing's attention "auto" = FlexAttention on CUDA): the same data and objective, only more of it.
#    Run as L1 (NAME=L1 INIT=src/streamt1/sprites/weights MIN=4.2) and L2 (NAME=L2 INIT=runs/L1 MIN=3.9
#    TUNE=1). Training speed was measured apart (step_profile.py, this folder);
#  * TUNE=1: plain generation and Stream-T1 on the tuning split (prompts 32-63, seed 5, 96 frames), to
#    pair with P4's (benchmarks/logs/sprites_2026-12-04_twentysecond/P4/tune). Decision written before
#    the run: adopt if plain generation is not worse than P4 beyond noise on any ground-truth metric and
#    better beyond noise on at least one of text alignment, shape, presence, motion.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
mkdir -p runs
FLAGS="--steps 100000 --lr 3e-4 --batch-size 64 --reuse 4 --workers 14 --motion-weight 4 --first-chunk-copies 4 \
  --caption-dropout 0.1 --event-share 0.25 --device cuda"
N=${NAME:?}
mkdir -p runs/$N
python3 -m streamt1.sprites.train --out runs/$N --init ${INIT:?} $FLAGS --max-minutes ${MIN:?} > runs/$N/train.log 2>&1
grep -v Warning runs/$N/train.log | tail -n 3 | cut -c1-300
python3 - "$N" <<'PY'
import json, sys
h = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
path = f"runs/{sys.argv[1]}/sprites_model.json"
r = json.load(open(path)); r["stream_config"] = h["stream_config"]
json.dump(r, open(path, "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* runs/$N/
cp runs/$N/sprites_model.safetensors runs/$N/sprites_model.json runs/$N/train.log $OUT/
if [[ ${TUNE:-0} == 1 ]]; then
  export OMP_NUM_THREADS=1
  L=${LIMIT:-150}
  mkdir -p runs/tune
  T="python3 benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --weights runs/$N --out runs/tune"
  for half in 32 48; do
    timeout $L $T --offset $half --label $N-$half > runs/tune/$N-$half.log 2>&1 &
    timeout $L $T --offset $half --method stream-t1 --label st1-$N-$half > runs/tune/st1-$N-$half.log 2>&1 &
  done
  wait
  grep -hv Warning runs/tune/*.log | cut -c1-400 | tail -n 20
  tar czf $OUT/tune_$N.tgz runs/tune
fi
