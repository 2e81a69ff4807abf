#!/usr/bin/env bash
# Calls R5 (5 s) and R6 (30 s), twenty-second session: the Sprites evaluation of every preset with the
# weights P4 adopted this session (the committed default), the nineteenth session's rewards, as R3/R4
# were run with H. Usage from the repository root on one H200:
#   LEN=5s  bash benchmarks/logs/sprites_2026-12-04_twentysecond/R.sh   # 32 prompts x seeds 0-3, 81 frames
#   LEN=30s bash benchmarks/logs/sprites_2026-12-04_twentysecond/R.sh   # 8 prompts x seeds 0-3, 480 frames
set -uo pipefail
nvidia-smi --query-gpu=name --format=csv,noheader
if [[ ${LEN:?} == 5s ]]; then
  ROOT=runs/R5 SEEDS="0 1 2 3" ABLATIONS= ORACLE_PROMPTS=0 LIMIT=${LIMIT:-470} \
    MAIN="none best-of-n beam stream-t1 stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" \
    bash benchmarks/sprites_eval_gpu.sh
  R=R5
else
  ROOT=runs/R6 PROMPTS=8 SEEDS="0 1 2 3" FRAMES=480 ABLATIONS= ORACLE_PROMPTS=0 LIMIT=${LIMIT:-400} \
    bash benchmarks/sprites_eval_gpu.sh
  R=R6
fi
tar czf $OUT/$R.tgz runs/$R/learned-all  # the tables and logs_tail.txt are already in $OUT (sprites_eval_gpu.sh)
