#!/usr/bin/env bash
# Calls R7 (5 s) and R8 (30 s), twenty-fourth session: the Sprites evaluation of every preset with the
# committed weights P4 and the rewards re-tuned this session (V1, lr 3e-5), as R5/R6 were run with the
# nineteenth session's rewards. Usage from the repository root on one H200:
#   LEN=5s  bash benchmarks/logs/sprites_2026-12-04_twentyfourth/R.sh   # 32 prompts x seeds 0-3, 81 frames
#   LEN=30s bash benchmarks/logs/sprites_2026-12-04_twentyfourth/R.sh   # 8 prompts x seeds 0-3, 480 frames
set -uo pipefail
nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=$PWD/src
# the CUDA flex-attention training test (fixed this session), beside the evaluation
(python3 -m pytest -o addopts="" -q -p no:logging tests/sprites/test_train.py -k flex > $OUT/flex_test.log 2>&1; echo "rc=$?" >> $OUT/flex_test.log) &
if [[ ${LEN:?} == 5s ]]; then
  ROOT=runs/R7 SEEDS="0 1 2 3" ABLATIONS= ORACLE_PROMPTS=0 LIMIT=${LIMIT:-470} \
    MAIN="none best-of-n beam stream-t1 stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" \
    bash benchmarks/sprites_eval_gpu.sh
  R=R7
else
  ROOT=runs/R8 PROMPTS=8 SEEDS="0 1 2 3" FRAMES=480 ABLATIONS= ORACLE_PROMPTS=0 LIMIT=${LIMIT:-400} \
    bash benchmarks/sprites_eval_gpu.sh
  R=R8
fi
wait
tail -n 3 $OUT/flex_test.log
tar czf $OUT/$R.tgz runs/$R/learned-all  # the tables and logs_tail.txt are already in $OUT (sprites_eval_gpu.sh)
# R7's 455 s limit stopped stream-t1, -no-noise and -no-pruning at 110 of 128 videos (table as it was:
# R7/learned_table_455s.md). They were finished by resuming a copy of R7/results.json per method on one
# H200 (same settings fingerprint; 82 s, the call after R8; the finished videos were kept as they were):
#   for m in stream-t1 stream-t1-no-noise stream-t1-no-pruning; do mkdir -p runs/r7fill/$m; cp R7/results.json runs/r7fill/$m/
#     python3 -m streamt1 evaluate --methods $m --num-prompts 32 --seeds 0,1,2,3 --num-frames 81 --no-videos \
#       --device cuda --out runs/r7fill/$m & done; wait
# then each method's videos were copied into R7/results.json and the table remade on the CPU with
#   streamt1 evaluate --merge R7 --out DIR --methods none,best-of-n,beam,stream-t1,stream-t1-early,\
#     stream-t1-no-noise,stream-t1-no-pruning,stream-t1-no-sinking --num-prompts 32 --seeds 0,1,2,3 --num-frames 81
