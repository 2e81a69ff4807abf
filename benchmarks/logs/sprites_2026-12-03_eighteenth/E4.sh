#!/usr/bin/env bash
# Call E4: continue the default weights H with paused items (--paused-share 0.5: in half the items
# the world stands still until a random chunk; those frames are context only), H's recipe otherwise
# (the same as H3's, which gained nothing). Then, from the new weights P:
#  * plain generation on the tuning split (prompts 32-63, seed 5, 96 frames) paired with H (printed);
#  * benchmarks/sprites_motion_start.py for H and P (printed);
#  * plain generation on the reported split (prompts 0-31 x seeds 0-3, 81 frames): packed, not printed,
#    so the decision is made on the tuning split alone.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
mkdir -p runs/P
python3 -m streamt1.sprites.train --out runs/P --init $W --steps 100000 --lr 3e-4 --batch-size 64 --reuse 4 \
  --workers 14 --motion-weight 4 --first-chunk-copies 4 --caption-dropout 0.1 --paused-share 0.5 \
  --max-minutes ${MIN:-5.8} --device cuda > runs/P/train.log 2>&1
tail -n 2 runs/P/train.log | cut -c1-300
python3 - runs/P <<'PY'
import json, sys
h = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
path = sys.argv[1] + "/sprites_model.json"
r = json.load(open(path)); r["stream_config"] = h["stream_config"]; json.dump(r, open(path, "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* runs/P/
cp runs/P/sprites_model.safetensors $OUT/P.safetensors
mkdir -p runs/tuneP runs/motionP runs/p5
export OMP_NUM_THREADS=2
timeout 170 python3 benchmarks/sprites_tuning.py --num-prompts 32 --num-frames 96 --out runs/tuneP --weights runs/P \
  --label P --baseline benchmarks/logs/sprites_codec_2026-12-03_sixteenth/tune/H.json > runs/tuneP/P.log 2>&1 &
timeout 170 python3 benchmarks/sprites_motion_start.py --num-scenes 24 --weights $W > runs/motionP/H.log 2>&1 &
timeout 170 python3 benchmarks/sprites_motion_start.py --num-scenes 24 --weights runs/P > runs/motionP/P.log 2>&1 &
for s in 0 1 2 3; do
  timeout 170 python3 -m streamt1 evaluate --methods none --num-prompts 32 --seeds $s --num-frames 81 --no-videos \
    --device cuda --weights runs/P --out runs/p5/none-$s > runs/p5/none-$s.log 2>&1 &
done
wait
grep -v Warning runs/tuneP/*.log | tail -n 5
grep -v Warning runs/motionP/*.log
tail -q -n 1 runs/p5/*.log | cut -c1-80
tar czf $OUT/e4.tgz runs/P/*.json runs/P/train.log runs/tuneP runs/motionP runs/p5
