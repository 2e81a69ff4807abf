#!/usr/bin/env bash
# Call B3: B2 sampled as G is (guidance 3 on the first chunk, its card's stream_config) with G's rewards:
# tuning split (prompts 32-63, seed 5, 96 frames) and the reported split (prompts 0-31 x seeds 0,1, 81 frames),
# plain and Stream-T1.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
W=src/streamt1/sprites/weights
M=${M:-B2}
if [ ! -f runs/$M/sprites_model.safetensors ]; then
  mkdir -p runs/$M; cp runs/call$M/$M.safetensors runs/$M/sprites_model.safetensors; cp runs/call$M/runs/$M/sprites_model.json runs/$M/
fi
python3 - runs/$M <<'PY'
import json, sys
g = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
path = sys.argv[1] + "/sprites_model.json"
r = json.load(open(path)); r["stream_config"] = g["stream_config"]; json.dump(r, open(path, "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* runs/$M/
mkdir -p runs/tuneB runs/repB
T="python3 benchmarks/sprites_tuning.py --weights runs/$M --num-prompts 32 --num-frames 96 --out runs/tuneB --baseline benchmarks/logs/sprites_refiner_2026-12-03_thirteenth/G.json"
$T --label $M > runs/tuneB/$M.log 2>&1 &
$T --label $M-shift4 --shift 4 > runs/tuneB/$M-shift4.log 2>&1 &
$T --label $M-g1 --guidance-scale 1 > runs/tuneB/$M-g1.log 2>&1 &
E="python3 -m streamt1 evaluate --weights runs/$M --num-prompts 32 --num-frames 81 --no-videos --device cuda"
for s in 0 1; do for m in none stream-t1; do
  ( $E --methods $m --seeds $s --out runs/repB/$M-$m-$s > runs/repB/$M-$m-$s.log 2>&1 ) &
done; done
wait
grep -v Warning runs/tuneB/*.log | tail -n 60
tail -n 2 runs/repB/*.log
tar czf $OUT/b3.tgz runs/tuneB runs/repB
