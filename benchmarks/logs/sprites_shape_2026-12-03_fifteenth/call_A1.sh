#!/usr/bin/env bash
# Call A1: G + the shape-weighted loss (first chunk's shape-contrast cells), weights 8 and 24, 5.5 min
# each side by side; then first-chunk diagnostics (with the swapped-shape rows) and the tuning split.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
mkdir -p runs/tune runs/diag
card() {  # sample as G does (guidance 3 on the first chunk): its card's stream_config; G's rewards
python3 - "$1" <<'PY'
import json, sys
g = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
path = sys.argv[1] + "/sprites_model.json"
r = json.load(open(path)); r["stream_config"] = g["stream_config"]; json.dump(r, open(path, "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* $1/
}
TR="python3 -m streamt1.sprites.train --steps 100000 --lr 3e-4 --motion-weight 4 --caption-dropout 0.1 --device cuda --reuse 8 --workers 7 --init $W --first-chunk-copies 4 --batch-size 64"
for w in 8 24; do mkdir -p runs/W$w
  $TR --out runs/W$w --shape-weight $w --max-minutes ${MIN:-5.5} > runs/W$w/train.log 2>&1 &
done
wait
for w in 8 24; do tail -n 2 runs/W$w/train.log; card runs/W$w; done
export OMP_NUM_THREADS=1
T="python3 benchmarks/sprites_tuning.py --num-prompts 32 --num-frames 96 --out runs/tune --baseline benchmarks/logs/sprites_refiner_2026-12-03_thirteenth/G.json"
for w in 8 24; do
  $T --weights runs/W$w --label W$w > runs/tune/W$w.log 2>&1 &
  for s in train eval; do python3 benchmarks/sprites_first_chunk.py --weights runs/W$w --split $s > runs/diag/W$w-$s.log 2>&1 & done
done
python3 benchmarks/sprites_first_chunk.py --split eval > runs/diag/G-eval.log 2>&1 &
wait
cat runs/diag/*.log runs/tune/*.log | grep -v Warning
cp runs/W8/sprites_model.safetensors $OUT/W8.safetensors
cp runs/W24/sprites_model.safetensors $OUT/W24.safetensors
tar czf $OUT/a1.tgz runs/W8/*.json runs/W8/train.log runs/W24/*.json runs/W24/train.log runs/tune runs/diag/*.log
