#!/usr/bin/env bash
# Plain generation of weights WEIGHTS on the 96 tuning videos (prompts 32-63 x seeds 5, 6, 7, 96 frames) on
# this 2-core CPU, two processes at a time, labelled as sprites_candidate_gpu.sh labels them (NAME-32,
# NAME-48, NAME-32-s6, ...), so paired_w1.py reads them:
#   bash benchmarks/logs/sprites_2026-12-06_fortyfifth/cpu_tune.sh NAME WEIGHTS
# FLAGS: sprites_tuning.py's flags for every run (e.g. "--guided-chunks 0"); LOGS: the session folder the runs
# go to (default this one's).
set -euo pipefail
N=${1:?NAME} W=${2:?WEIGHTS}
OUT=${LOGS:-benchmarks/logs/sprites_2026-12-06_fortyfifth}/$N/tune
mkdir -p $OUT
export OMP_NUM_THREADS=1 PYTHONPATH=$PWD/src
for seed in 5 6 7; do
  for half in 32 48; do
    suffix=$half$([[ $seed == 5 ]] || echo -s$seed)
    python benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --weights $W --out $OUT \
      --offset $half --seed $seed --label $N-$suffix ${FLAGS:-} > $OUT/$N-$suffix.log 2>&1 &
  done
  wait
done
rm -f $OUT/*.png  # the picture strips stay out of the tree
grep -h "^$N" $OUT/*.log | cut -c1-200
