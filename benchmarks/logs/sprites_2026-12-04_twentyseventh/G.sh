#!/usr/bin/env bash
# Twenty-seventh session (no device lent; CPU only): does classifier-free guidance on the first few chunks
# keep M2's shapes past the first chunk? (twenty-sixth session, shape_over_time.log: M2 draws the captioned
# shape in 45.6 % of the first chunk's frames, then ~30 % in every later stretch; the default guides only
# the first chunk, guided_chunks 1, at scale 3.)
# Plain generation on the tuning split (prompts 32-63, seeds 5 and 6, 96 frames), the committed weights M2,
# guided_chunks 1 (default), 2 and 4, two processes of one thread each:
#   bash benchmarks/logs/sprites_2026-12-04_twentyseventh/G.sh
# Decision written before the runs: a setting is checked on the reported split (prompts 0-31 x seeds 0-3,
# 81 frames, plain generation, CPU, paired with the default run the same way) only if on the tuning split
# its shape is above the default's with the 95 % interval excluding 0 and no other ground-truth metric
# (subject consistency, text alignment, background, presence, motion, imaging quality) is below the
# default's beyond noise by more than 0.5 points; it becomes the default only if the reported split
# shows no such loss either.
set -uo pipefail
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
D=benchmarks/logs/sprites_2026-12-04_twentyseventh/G
mkdir -p $D
run() {  # run LABEL FLAGS...: seeds 5 and 6 one after the other
  local label=$1; shift
  for seed in 5 6; do
    python3 benchmarks/sprites_tuning.py --num-prompts 32 --num-frames 96 --seed $seed --out $D \
      --label $label-s$seed "$@" 2>&1 | grep -v Warning
  done
}
(run gc1; run gc4 --guided-chunks 4) > $D/a.log &
(run gc2 --guided-chunks 2) > $D/b.log &
wait
