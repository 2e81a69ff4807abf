#!/usr/bin/env bash
# Call R3 (nineteenth session): the Sprites evaluation at 5 s (81 latent frames) with weights H and the
# rewards of R1's round 2 (now committed): all eight presets, reported prompts 0-31 x seeds 0-3 (one
# process per preset and seed), the Sprites backend's defaults (6-frame sink). As D2 of the seventeenth session.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
mkdir -p $OUT/eval5
ROOT=runs/eval5 OUT=$OUT/eval5 SEEDS="0 1 2 3" ABLATIONS= ORACLE_PROMPTS=0 LIMIT=${LIMIT:-440} \
  MAIN="none best-of-n beam stream-t1 stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" \
  bash benchmarks/sprites_eval_gpu.sh
tar czf $OUT/eval5.tgz runs/eval5/learned runs/eval5/learned-all runs/eval5/logs
