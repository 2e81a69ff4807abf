#!/usr/bin/env bash
# Call A2: W24 continued alone (5 min, fresher data); S6 (6 Euler steps) with G on the reported split;
# contrastive shape guidance on the first chunk for G and W24.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
mkdir -p runs/tune runs/diag runs/s6 runs/W24b
card() {
python3 - "$1" <<'PY'
import json, sys
g = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
path = sys.argv[1] + "/sprites_model.json"
r = json.load(open(path)); r["stream_config"] = g["stream_config"]; json.dump(r, open(path, "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* $1/
}
python3 -m streamt1.sprites.train --steps 100000 --lr 2e-4 --motion-weight 4 --caption-dropout 0.1 --device cuda --reuse 4 --workers 11 --init runs/callA1/W24 --first-chunk-copies 4 --batch-size 64 --shape-weight 24 --out runs/W24b --max-minutes ${MIN:-5.0} > runs/W24b/train.log 2>&1 &
TRAIN=$!
export OMP_NUM_THREADS=1
E="python3 -m streamt1 evaluate --num-prompts 32 --num-frames 81 --no-videos --device cuda --set run.denoising_steps=[1000,833,667,500,333,167] --set run.first_chunk_substeps=5"
for s in 0 1; do for m in none stream-t1; do
  $E --methods $m --seeds $s --out runs/s6/S6-$m-$s > runs/s6/S6-$m-$s.log 2>&1 &
done; done
for w in $W runs/callA1/W24; do for sp in train eval; do
  python3 runs/diag/shapeguide.py $w $sp 0,3,10,20 5 > runs/diag/guide-$(basename $w)-$sp.log 2>&1 &
done; done
wait $TRAIN
tail -n 2 runs/W24b/train.log; card runs/W24b
cp runs/W24b/sprites_model.safetensors $OUT/W24b.safetensors
T="python3 benchmarks/sprites_tuning.py --num-prompts 32 --num-frames 96 --out runs/tune --baseline benchmarks/logs/sprites_refiner_2026-12-03_thirteenth/G.json"
$T --weights runs/W24b --label W24b > runs/tune/W24b.log 2>&1 &
for sp in train eval; do python3 benchmarks/sprites_first_chunk.py --weights runs/W24b --split $sp > runs/diag/W24b-$sp.log 2>&1 & done
wait
cat runs/diag/*.log runs/tune/*.log | grep -v Warning
tail -n 2 runs/s6/*.log
tar czf $OUT/a2.tgz runs/W24b/*.json runs/W24b/train.log runs/tune runs/diag/*.log runs/s6
