#!/usr/bin/env bash
# Call B2: continue B1 (learned codec) at lr 5e-4 with the same recipe, ${MIN:-8.2} min.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
if [ ! -f runs/B1/sprites_model.safetensors ]; then  # a fresh machine: rebuild B1 from the carried copy
  mkdir -p runs/B1; cp runs/callB1/B1.safetensors runs/B1/sprites_model.safetensors; cp runs/callB1/runs/B1/sprites_model.json runs/B1/
fi
mkdir -p runs/B2
python3 -m streamt1.sprites.train --out runs/B2 --init runs/B1 --steps 100000 --lr 5e-4 --batch-size 64 --reuse 4 --workers 14 --motion-weight 4 --first-chunk-copies 4 --caption-dropout 0.1 --max-minutes ${MIN:-8.2} --device cuda > runs/B2/train.log 2>&1
tail -n 3 runs/B2/train.log | cut -c1-300
cp runs/B2/sprites_model.safetensors $OUT/B2.safetensors
tar czf $OUT/b2.tgz runs/B2/*.json runs/B2/train.log
