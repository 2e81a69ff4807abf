#!/usr/bin/env bash
# Call D1: continue the default weights H at lr 3e-4 with the same recipe (H3), then plain generation
# on the tuning split (prompts 32-63, seed 5, 96 frames) paired with H's run of the sixteenth session.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
mkdir -p runs/H3
python3 -m streamt1.sprites.train --out runs/H3 --init $W --steps 100000 --lr ${LR:-3e-4} --batch-size 64 --reuse 4 --workers 14 --motion-weight 4 --first-chunk-copies 4 --caption-dropout 0.1 --max-minutes ${MIN:-7.3} --device cuda > runs/H3/train.log 2>&1
tail -n 3 runs/H3/train.log | cut -c1-300
python3 - runs/H3 <<'PY'
import json, sys
h = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
path = sys.argv[1] + "/sprites_model.json"
r = json.load(open(path)); r["stream_config"] = h["stream_config"]; json.dump(r, open(path, "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* runs/H3/
cp runs/H3/sprites_model.safetensors $OUT/H3.safetensors
mkdir -p runs/tuneD
T="python3 benchmarks/sprites_tuning.py --num-prompts 32 --num-frames 96 --out runs/tuneD --baseline benchmarks/logs/sprites_codec_2026-12-03_sixteenth/tune/H.json"
export OMP_NUM_THREADS=2
$T --weights runs/H3 --label H3 > runs/tuneD/H3.log 2>&1 &
$T --weights runs/H3 --label H3-gall --guided-chunks 0 > runs/tuneD/H3-gall.log 2>&1 &
$T --weights $W --label H-gall --guided-chunks 0 > runs/tuneD/H-gall.log 2>&1 &
wait
grep -v Warning runs/tuneD/*.log | tail -n 60
tar czf $OUT/d1.tgz runs/H3/*.json runs/H3/train.log runs/tuneD
