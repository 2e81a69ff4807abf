#!/usr/bin/env bash
# Call X3 (twenty-fifth session), one H200, carrying runs/R9 (X1's unfinished 30 s ablations) and runs/S2
# (X2's weights with the committed rewards copied beside them):
#  * the 30 s ablations resumed with the same settings (each `streamt1 evaluate` skips its finished videos);
#  * S2 and P4, plain generation on the tuning split with two more seeds (prompts 32-63 x seeds 6, 7).
# Rule written before the call: S2 may replace P4 (in a session with the device time to rerun every preset
# with it) only if over the tuning prompts 32-63 x seeds 5, 6, 7 (96 videos) its subject consistency or
# text alignment is above P4's with the 95 % interval excluding 0 and no ground-truth metric is below
# P4's beyond noise by more than 0.5 points.
#   bash benchmarks/logs/sprites_2026-12-04_twentyfifth/Y.sh
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
ROOT=runs/R9 OUT=$OUT/R9 PROMPTS=8 SEEDS="0 1 2 3" FRAMES=480 ABLATIONS= ORACLE_PROMPTS=0 LIMIT=${LIMIT30:-330} \
  MAIN="stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" \
  bash benchmarks/sprites_eval_gpu.sh > $OUT/R9.log 2>&1 &
export OMP_NUM_THREADS=1
mkdir -p $OUT/tune
for seed in 6 7; do
  for half in 32 48; do
    for w in S2 P4; do
      [[ $w == P4 ]] && dir=$W || dir=runs/$w
      timeout ${LIMIT:-200} python3 benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --weights $dir \
        --out $OUT/tune --offset $half --seed $seed --label $w-$half-s$seed > $OUT/tune/$w-$half-s$seed.log 2>&1 &
    done
  done
done
wait
grep -hv Warning $OUT/tune/*.log | cut -c1-300
cat $OUT/R9/learned_table.md | head -12
tar czf $OUT/X3.tgz runs/R9/learned $OUT/R9 $OUT/R9.log -C $OUT tune && rm -r $OUT/tune
ls $OUT
