#!/usr/bin/env bash
# Call S2 (twentieth session): S1's A (H + 700 steps with 8 first-chunk copies in the sigma band
# 0.5-0.85 and --shape-weight 8; carried in runs/A) continued alone with the same flags -> A2; then
# plain generation on the tuning split paired with H, the first chunk from the caption (48 eval-split
# scenes) and the README prompt.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
mkdir -p runs/A2
python3 -m streamt1.sprites.train --out runs/A2 --init runs/A --steps 100000 --lr 3e-4 --batch-size 64 --reuse 4 \
  --workers 14 --motion-weight 4 --caption-dropout 0.1 --first-chunk-copies 8 --first-chunk-sigmas 0.5 0.85 \
  --shape-weight 8 --max-minutes ${MIN:-6.4} --device cuda > runs/A2/train.log 2>&1
tail -n 2 runs/A2/train.log | cut -c1-300
python3 - runs/A2 <<'PY'
import json, sys
h = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
path = sys.argv[1] + "/sprites_model.json"
r = json.load(open(path)); r["stream_config"] = h["stream_config"]; json.dump(r, open(path, "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* runs/A2/
cp runs/A2/sprites_model.safetensors $OUT/A2.safetensors
export OMP_NUM_THREADS=4
mkdir -p runs/tune2 runs/first2 runs/readme2
timeout 150 python3 benchmarks/sprites_tuning.py --num-prompts 32 --num-frames 96 --out runs/tune2 --weights runs/A2 \
  --label A2 --baseline benchmarks/logs/sprites_codec_2026-12-03_sixteenth/tune/H.json > runs/tune2/A2.log 2>&1 &
timeout 150 python3 benchmarks/sprites_first_chunk.py --num-scenes 48 --split eval --weights runs/A2 > runs/first2/A2.log 2>&1 &
timeout 150 python3 benchmarks/sprites_readme_prompt.py --weights runs/A2 --out runs/readme2 > runs/readme2/A2.log 2>&1 &
wait
grep -hv Warning runs/tune2/*.log | tail -n 3
grep -v Warning runs/first2/A2.log | head -n 16
grep -v Warning runs/readme2/A2.log | tail -n 12
tar czf $OUT/s2.tgz runs/A2/*.json runs/A2/train.log runs/tune2 runs/first2 runs/readme2
