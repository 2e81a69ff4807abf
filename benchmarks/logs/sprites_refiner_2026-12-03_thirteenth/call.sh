#!/usr/bin/env bash
# Call R1: stage R (G + a pixel-scale refiner, 32 wide), then R vs G plain on the tuning split and on the reported split (5 s, seeds 0, 1).
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
mkdir -p runs/R runs/tune runs/rep
python3 -m streamt1.sprites.train --out runs/R --init $W --refiner 32 --steps 100000 --batch-size 64 \
  --reuse 4 --workers 14 --max-minutes ${TRAIN_MIN:-6.0} --lr 3e-4 --motion-weight 4 --first-chunk-copies 4 \
  --caption-dropout 0.1 --device cuda > runs/R/train.log 2>&1
tail -4 runs/R/train.log
# sample as G does (guidance 3 on the first chunk): its card's stream_config
python3 - <<'PY'
import json
g = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
r = json.load(open("runs/R/sprites_model.json"))
r["stream_config"] = g["stream_config"]
json.dump(r, open("runs/R/sprites_model.json", "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* runs/R/
export OMP_NUM_THREADS=2
T="python3 benchmarks/sprites_tuning.py --num-prompts 32 --num-frames 96 --out runs/tune"
$T --label G > runs/tune/G.log 2>&1 &
$T --weights runs/R --label R > runs/tune/R.log 2>&1 &
for s in 0 1; do
  python3 -m streamt1 evaluate --methods none --num-prompts 32 --seeds $s --num-frames 81 --no-videos --device cuda --out runs/rep/G-none-$s > runs/rep/G-none-$s.log 2>&1 &
  python3 -m streamt1 evaluate --methods none --num-prompts 32 --seeds $s --num-frames 81 --no-videos --device cuda --weights runs/R --out runs/rep/R-none-$s > runs/rep/R-none-$s.log 2>&1 &
  python3 -m streamt1 evaluate --methods stream-t1 --num-prompts 32 --seeds $s --num-frames 81 --no-videos --device cuda --weights runs/R --out runs/rep/R-st1-$s > runs/rep/R-st1-$s.log 2>&1 &
done
wait
cat runs/tune/*.log | grep -v Warning

tail -n 2 runs/rep/*.log
tar czf $OUT/r1.tgz runs/R runs/tune runs/rep
