#!/usr/bin/env bash
# Call R10 (twenty-sixth session), one H200, carrying runs/M2 (call Z2's weights with the committed rewards
# copied beside them): every preset at 5 s with M2 on the reported split (prompts 0-31 x seeds 0-3, 81
# frames; P4's are in the twenty-fourth session's R7), and M2's plain generation at 30 s (prompts 0-7 x
# seeds 0-3, 480 frames; P4's in the twenty-fifth session's R9), each process stopped after LIMIT seconds
# keeping its finished videos.
#   bash benchmarks/logs/sprites_2026-12-04_twentysixth/R.sh
set -uo pipefail
nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=$PWD/src
ROOT=runs/R11 OUT=$OUT/R11 PROMPTS=8 SEEDS="0 1 2 3" FRAMES=480 MAIN=none ABLATIONS= ORACLE_PROMPTS=0 \
  LIMIT=${LIMIT:-480} WEIGHTS=runs/M2 bash benchmarks/sprites_eval_gpu.sh > $OUT/R11.log 2>&1 &
ROOT=runs/R10 OUT=$OUT/R10 SEEDS="0 1 2 3" ABLATIONS= ORACLE_PROMPTS=0 LIMIT=${LIMIT:-480} WEIGHTS=runs/M2 \
  MAIN="none best-of-n beam stream-t1 stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" \
  bash benchmarks/sprites_eval_gpu.sh > $OUT/R10.log 2>&1
wait
tail -n 5 $OUT/R10.log $OUT/R11.log
cat $OUT/R10/learned_table.md | head -14
cat $OUT/R11/learned_table.md | head -6
tar czf $OUT/R10.tgz runs/R10/learned-all runs/R11/learned-all
ls $OUT
