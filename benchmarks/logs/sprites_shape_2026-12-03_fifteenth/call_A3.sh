#!/usr/bin/env bash
# Call A3: can the caption alone teach shapes when all compute goes to first chunks with the shape weight?
# G + first chunks only, shape weight 24, 2.5 min; first-chunk diagnostics (swapped rows, sensitivity).
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
W=src/streamt1/sprites/weights
mkdir -p runs/F24 runs/diag3
python3 -m streamt1.sprites.train --steps 100000 --lr 3e-4 --motion-weight 4 --caption-dropout 0.1 --device cuda --reuse 4 --workers 14 --init $W --context-chunks 0 --first-chunk-copies 3 --batch-size 256 --shape-weight 24 --out runs/F24 --max-minutes ${MIN:-2.5} > runs/F24/train.log 2>&1
tail -n 2 runs/F24/train.log
python3 - <<'PY'
import json
g = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
r = json.load(open("runs/F24/sprites_model.json")); r["stream_config"] = g["stream_config"]; json.dump(r, open("runs/F24/sprites_model.json", "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* runs/F24/
export OMP_NUM_THREADS=1
for s in train eval; do python3 benchmarks/sprites_first_chunk.py --weights runs/F24 --split $s > runs/diag3/F24-$s.log 2>&1 & done
wait
cat runs/diag3/*.log | grep -v Warning
cp runs/F24/sprites_model.safetensors $OUT/F24.safetensors
tar czf $OUT/a3.tgz runs/F24/*.json runs/F24/train.log runs/diag3
