#!/usr/bin/env bash
# Call D4: stage D6 = G grown to 6 blocks (2 identity blocks appended), the usual mixed recipe, 5 min;
# then its first-chunk diagnostics, the tuning split (paired with this session's S8 = G) and the
# reported split, plain, seeds 0, 1 (paired with E3's G runs).
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
L=benchmarks/logs/sprites_steps_2026-12-03_fourteenth
mkdir -p runs/D6 runs/d4
python3 -m streamt1.sprites.train --out runs/D6 --init $W --layers 6 --steps 100000 --batch-size 64 --reuse 4 \
  --workers 14 --max-minutes ${TRAIN_MIN:-5.0} --lr 3e-4 --motion-weight 4 --first-chunk-copies 4 \
  --caption-dropout 0.1 --device cuda > runs/d4/train.log 2>&1
tail -n 3 runs/d4/train.log
python3 - <<'PY'
import json
g = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
p = "runs/D6/sprites_model.json"
r = json.load(open(p)); r["stream_config"] = g["stream_config"]; json.dump(r, open(p, "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* runs/D6/
export OMP_NUM_THREADS=1
python3 benchmarks/sprites_tuning.py --weights runs/D6 --label D6 --num-prompts 32 --num-frames 96 --out runs/d4 \
  --baseline $L/tune/S8.json > runs/d4/tune.log 2>&1 &
for s in train eval; do python3 benchmarks/sprites_first_chunk.py --weights runs/D6 --split $s > runs/d4/first-$s.log 2>&1 & done
for s in 0 1; do
  python3 -m streamt1 evaluate --methods none --num-prompts 32 --seeds $s --num-frames 81 --no-videos --device cuda \
    --weights runs/D6 --out runs/d4/D6-none-$s > runs/d4/D6-none-$s.log 2>&1 &
done
wait
cat runs/d4/first-*.log runs/d4/tune.log | grep -v Warning
tail -n 2 runs/d4/D6-none-*.log
tar czf $OUT/d4.tgz runs/d4 runs/D6/sprites_model.json
cp runs/D6/sprites_model.safetensors $OUT/D6.safetensors
ls -la $OUT
