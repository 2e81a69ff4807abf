#!/usr/bin/env bash
# Plain generation of weights WEIGHTS on the reported split (held-out prompts 0-31 x seeds 0-3, 81 latent
# frames, 128 videos) on this 2-core CPU in float32, two processes at a time (one per seed pair), parts in
# benchmarks/logs/sprites_2026-12-06_fortyfifth/NAME/report/none-SEED:
#   bash benchmarks/logs/sprites_2026-12-06_fortyfifth/cpu_report.sh NAME WEIGHTS
# Paired: python benchmarks/sprites_weights_paired.py --also imaging_quality OF2=F/OF2cpu/report/none-0,... SP=...
set -euo pipefail
N=${1:?NAME} W=${2:?WEIGHTS}
OUT=benchmarks/logs/sprites_2026-12-06_fortyfifth/$N/report
mkdir -p $OUT
export OMP_NUM_THREADS=1 PYTHONPATH=$PWD/src
for pair in "0 1" "2 3"; do
  for seed in $pair; do
    python -m streamt1 evaluate --methods none --seeds $seed --num-prompts 32 --num-frames 81 --no-videos \
      --device cpu --set run.dtype=float32 --weights $W --out $OUT/none-$seed > $OUT/none-$seed.log 2>&1 &
  done
  wait
done
grep -h "^| none |" $OUT/*.log
