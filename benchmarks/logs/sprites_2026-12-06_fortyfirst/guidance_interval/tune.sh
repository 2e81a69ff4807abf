#!/usr/bin/env bash
# Forty-first session, written before the run (CPU, ~10 min on the 2-core VM): plain generation on the tuning split
# (prompts 32-63 x seeds 5, 6, 7, 81 frames, 96 videos, float32 as the stored base runs) with guidance x5 on the
# first chunk only at noise levels 0.6-0.85 (`run.guidance_sigmas`, new), chosen from probe.py's rows on scenes
# 1000-1095 of both splits (eval96.log, train96.log), paired with the fortieth session's base runs of the model's
# own sampling (logs/sprites_2026-12-06_fortieth/cpu_sampling/base-s*.json):
#   python benchmarks/logs/sprites_2026-12-06_fortieth/paired_sampling.py FOLDER   (the label G5 against base)
# Rule (the fortieth session's sampler rule): the setting goes on to the reported split if plain generation improves
# beyond noise (95 %) on text alignment or one of the four unmet bars (background, presence, shape, motion) and no
# ground-truth metric falls beyond noise by more than 0.5 points (imaging quality by its distance from the render).
# Adopting it changes every method's videos, so it then also needs the searches rerun on the GPU.
set -uo pipefail
cd "$(git rev-parse --show-toplevel)"
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1
OUT=${OUT:-runs/guidance_interval}; mkdir -p $OUT
one() {
  python3 benchmarks/sprites_tuning.py --label G5-s$1 --out $OUT --offset 32 --num-prompts 32 --num-frames 81 \
    --seed $1 --set run.guidance_scale=5 --set "run.guidance_sigmas=[0.6,0.85]" > $OUT/G5-s$1.log 2>&1
}
(one 5; one 6) &
one 7 &
wait
tail -qn 1 $OUT/*.log
