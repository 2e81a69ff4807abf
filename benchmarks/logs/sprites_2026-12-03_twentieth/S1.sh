#!/usr/bin/env bash
# Call S1 (twentieth session): the first-chunk copies trained in the shape word's noise band
# (--first-chunk-sigmas 0.5 0.85: where knowing the shape lowers the ideal denoiser's error,
# fifteenth session), from the default weights H, two runs side by side:
#   A: 8 copies in the band + --shape-weight 8;  B: 8 copies in the band, no shape weight.
# Then, for A and B: the first chunk from the caption alone (benchmarks/sprites_first_chunk.py, 48
# eval-split scenes) and plain generation on the tuning split paired with H.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
COMMON="--init $W --steps 100000 --lr 3e-4 --batch-size 64 --reuse 4 --workers 7 --motion-weight 4 \
  --caption-dropout 0.1 --first-chunk-copies 8 --first-chunk-sigmas 0.5 0.85 --max-minutes ${MIN:-4.6} --device cuda"
mkdir -p runs/A runs/B
python3 -m streamt1.sprites.train --out runs/A $COMMON --shape-weight 8 > runs/A/train.log 2>&1 &
python3 -m streamt1.sprites.train --out runs/B $COMMON > runs/B/train.log 2>&1 &
wait
for r in A B; do
  tail -n 2 runs/$r/train.log | cut -c1-300
  python3 - runs/$r <<'PY'
import json, sys
h = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
path = sys.argv[1] + "/sprites_model.json"
r = json.load(open(path)); r["stream_config"] = h["stream_config"]; json.dump(r, open(path, "w"), indent=1)
PY
  cp $W/image_reward.* $W/video_reward.* runs/$r/
  cp runs/$r/sprites_model.safetensors $OUT/$r.safetensors
done
export OMP_NUM_THREADS=3
mkdir -p runs/tune runs/first
for r in A B; do
  timeout 170 python3 benchmarks/sprites_tuning.py --num-prompts 32 --num-frames 96 --out runs/tune --weights runs/$r \
    --label $r --baseline benchmarks/logs/sprites_codec_2026-12-03_sixteenth/tune/H.json > runs/tune/$r.log 2>&1 &
  timeout 170 python3 benchmarks/sprites_first_chunk.py --num-scenes 48 --split eval --weights runs/$r > runs/first/$r.log 2>&1 &
done
timeout 170 python3 benchmarks/sprites_first_chunk.py --num-scenes 48 --split eval > runs/first/H.log 2>&1 &
wait
grep -hv Warning runs/tune/*.log | tail -n 8
for f in runs/first/*.log; do echo "== $f"; grep -v Warning $f | head -n 30; done
tar czf $OUT/s1.tgz runs/A/*.json runs/A/train.log runs/B/*.json runs/B/train.log runs/tune runs/first
