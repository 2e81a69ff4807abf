#!/usr/bin/env bash
# Call B1: issue 9's learned latent, continued this time: codec (1.6 min), then the video model from
# scratch on it with G's recipe (motion weight 4, first-chunk copies 4, caption dropout 0.1), 6.8 min.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
mkdir -p runs/codec runs/B1
python3 -m streamt1.sprites.train_codec --out runs/codec --steps 1000000 --batch-size 32 --workers 14 --max-minutes 1.6 --device cuda > runs/codec/train.log 2>&1
tail -n 2 runs/codec/train.log | cut -c1-400
python3 -m streamt1.sprites.train --out runs/B1 --codec runs/codec --steps 100000 --batch-size 64 --reuse 4 --workers 14 --motion-weight 4 --first-chunk-copies 4 --caption-dropout 0.1 --max-minutes ${MIN:-6.8} --device cuda > runs/B1/train.log 2>&1
tail -n 3 runs/B1/train.log | cut -c1-300
cp runs/B1/sprites_model.safetensors $OUT/B1.safetensors
cp runs/codec/sprites_codec.safetensors $OUT/codec.safetensors
tar czf $OUT/b1.tgz runs/B1/*.json runs/B1/train.log runs/codec/*.json runs/codec/train.log
