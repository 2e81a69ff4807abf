#!/usr/bin/env bash
# Call E1: continue the default weights H with a stronger context corruption (--context-noise 0.3;
# H's 0.05 was chosen for pixel latents, H's latents are normalised per channel), alone (V1) and with
# moving cells weighted 13x instead of 5x (V2, --motion-weight 12); both at once, 7 renderers each.
# Then plain generation on the tuning split (prompts 32-63, seed 5, 96 frames) paired with H.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
COMMON="--init $W --steps 100000 --lr 3e-4 --batch-size 64 --reuse 4 --workers 7 --first-chunk-copies 4 --caption-dropout 0.1 --max-minutes ${MIN:-6.2} --device cuda"
mkdir -p runs/V1 runs/V2
python3 -m streamt1.sprites.train --out runs/V1 $COMMON --motion-weight 4 --context-noise 0.3 > runs/V1/train.log 2>&1 &
python3 -m streamt1.sprites.train --out runs/V2 $COMMON --motion-weight 12 --context-noise 0.3 > runs/V2/train.log 2>&1 &
wait
for v in V1 V2; do
  tail -n 2 runs/$v/train.log | cut -c1-300
  python3 - runs/$v <<'PY'
import json, sys
h = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
path = sys.argv[1] + "/sprites_model.json"
r = json.load(open(path)); r["stream_config"] = h["stream_config"]; json.dump(r, open(path, "w"), indent=1)
PY
  cp $W/image_reward.* $W/video_reward.* runs/$v/
done
mkdir -p runs/tuneE
T="python3 benchmarks/sprites_tuning.py --num-prompts 32 --num-frames 96 --out runs/tuneE --baseline benchmarks/logs/sprites_codec_2026-12-03_sixteenth/tune/H.json"
export OMP_NUM_THREADS=4
for v in V1 V2; do timeout 150 $T --weights runs/$v --label $v > runs/tuneE/$v.log 2>&1 & done
wait
grep -v Warning runs/tuneE/*.log | tail -n 40
tar czf $OUT/e1.tgz runs/V1/*.json runs/V1/train.log runs/V2/*.json runs/V2/train.log runs/tuneE
cp runs/V1/sprites_model.safetensors $OUT/V1.safetensors; cp runs/V2/sprites_model.safetensors $OUT/V2.safetensors
