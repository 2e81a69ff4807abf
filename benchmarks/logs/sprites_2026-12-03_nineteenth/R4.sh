#!/usr/bin/env bash
# Call R4 (nineteenth session): the Sprites evaluation at 30 s (480 latent frames), weights H, the round-2 rewards, 6-frame sink:
# plain, best-of-n, beam and Stream-T1 on prompts 0-7 x seeds 0-3 (one process per preset and seed).
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
mkdir -p $OUT/eval30
ROOT=runs/eval30 OUT=$OUT/eval30 PROMPTS=8 SEEDS="0 1 2 3" FRAMES=480 ABLATIONS= ORACLE_PROMPTS=0 LIMIT=${LIMIT:-250} \
  bash benchmarks/sprites_eval_gpu.sh
tar czf $OUT/eval30.tgz runs/eval30/learned runs/eval30/learned-all runs/eval30/logs
