#!/usr/bin/env bash
# The tuning split on this machine's CPU, as sprites_candidate_gpu.sh's eval stage runs it on a GPU: plain
# generation, held-out prompts 32-63 x seeds 5, 6, 7, 96 frames, float32, two processes at a time (2 cores).
#   NAME=OWRS WEIGHTS=src/streamt1/sprites/weights bash .../cpu_tune.sh
#   NAME=OWR3S WEIGHTS=runs/OWR3S BASE_NAME=OWRS bash .../cpu_tune.sh   (also paired against OWRS's runs)
set -uo pipefail
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1
DIR=${DIR:-runs/tune-cpu}; mkdir -p $DIR
run() {
  local half=$1 seed=$2 suffix=$1$([[ $2 == 5 ]] || echo -s$2) base=()
  [[ -z ${BASE_NAME:-} ]] || base=(--baseline $DIR/$BASE_NAME-$suffix.json)
  python3 benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --weights ${WEIGHTS:?} --device cpu \
    --offset $half --seed $seed --label ${NAME:?}-$suffix --out $DIR "${base[@]}" > $DIR/$NAME-$suffix.log 2>&1
}
for seed in 5 6 7; do
  run 32 $seed & run 48 $seed & wait
done
grep -h "^" $DIR/$NAME-*.log | grep -v Warning | cut -c1-300
