#!/usr/bin/env bash
# Call H1: stage H (G + first chunks only, 4.5 min), stage H2 (H + the usual mixed items, 2 min);
# first-chunk diagnostics and the tuning split for G, H, H2.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
mkdir -p runs/H runs/H2 runs/tune runs/diag
card() {  # sample as G does (guidance 3 on the first chunk): its card's stream_config; G's rewards
python3 - "$1" <<'PY'
import json, sys
g = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
path = sys.argv[1] + "/sprites_model.json"
r = json.load(open(path)); r["stream_config"] = g["stream_config"]; json.dump(r, open(path, "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* $1/
}
TR="python3 -m streamt1.sprites.train --steps 100000 --lr 3e-4 --motion-weight 4 --caption-dropout 0.1 --device cuda --reuse 4 --workers 13"
$TR --out runs/H --init $W --context-chunks 0 --first-chunk-copies 3 --batch-size 256 --max-minutes ${H_MIN:-4.5} > runs/H/train.log 2>&1
tail -n 3 runs/H/train.log; card runs/H
$TR --out runs/H2 --init runs/H --first-chunk-copies 4 --batch-size 64 --max-minutes ${H2_MIN:-2.0} --lr 2e-4 > runs/H2/train.log 2>&1 &
export OMP_NUM_THREADS=1
T="python3 benchmarks/sprites_tuning.py --num-prompts 32 --num-frames 96 --out runs/tune --baseline benchmarks/logs/sprites_refiner_2026-12-03_thirteenth/G.json"
$T --weights runs/H --label H > runs/tune/H.log 2>&1 &
for w in G H; do d=$W; [ $w = H ] && d=runs/H
  for s in train eval; do python3 benchmarks/sprites_first_chunk.py --weights $d --split $s > runs/diag/$w-$s.log 2>&1 & done
done
wait
tail -n 3 runs/H2/train.log; card runs/H2
$T --weights runs/H2 --label H2 > runs/tune/H2.log 2>&1 &
for s in train eval; do python3 benchmarks/sprites_first_chunk.py --weights runs/H2 --split $s > runs/diag/H2-$s.log 2>&1 & done
wait
cat runs/diag/*.log runs/tune/*.log | grep -v Warning
tar czf $OUT/h1.tgz runs/H runs/H2 runs/tune runs/diag/*.log
