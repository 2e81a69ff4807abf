#!/usr/bin/env bash
# Call E5: continue E4's P (carried in runs/P) with paused items in three of four items
# (--paused-share 0.75), H's recipe otherwise -> Q; plain generation on the tuning split paired with H,
# and benchmarks/sprites_motion_start.py for Q.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
mkdir -p runs/Q
python3 -m streamt1.sprites.train --out runs/Q --init runs/P --steps 100000 --lr 3e-4 --batch-size 64 --reuse 4 \
  --workers 14 --motion-weight 4 --first-chunk-copies 4 --caption-dropout 0.1 --paused-share 0.75 \
  --max-minutes ${MIN:-5.0} --device cuda > runs/Q/train.log 2>&1
tail -n 2 runs/Q/train.log | cut -c1-300
python3 - runs/Q <<'PY'
import json, sys
h = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
path = sys.argv[1] + "/sprites_model.json"
r = json.load(open(path)); r["stream_config"] = h["stream_config"]; json.dump(r, open(path, "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* runs/Q/
cp runs/Q/sprites_model.safetensors $OUT/Q.safetensors
mkdir -p runs/tuneQ runs/motionQ
export OMP_NUM_THREADS=4
timeout 150 python3 benchmarks/sprites_tuning.py --num-prompts 32 --num-frames 96 --out runs/tuneQ --weights runs/Q \
  --label Q --baseline benchmarks/logs/sprites_codec_2026-12-03_sixteenth/tune/H.json > runs/tuneQ/Q.log 2>&1 &
timeout 150 python3 benchmarks/sprites_motion_start.py --num-scenes 24 --weights runs/Q > runs/motionQ/Q.log 2>&1 &
wait
grep -v Warning runs/tuneQ/*.log | tail -n 5
grep -v Warning runs/motionQ/*.log
tar czf $OUT/e5.tgz runs/Q/*.json runs/Q/train.log runs/tuneQ runs/motionQ
