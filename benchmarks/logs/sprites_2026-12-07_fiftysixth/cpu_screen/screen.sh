cd "$(git rev-parse --show-toplevel)"
for v in "A 1 [0.75,1]" "B 0.5 [0.75,1]" "C 2 [0.85,1]"; do
  set -- $v
  .venv/bin/python benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --offset 32 --seed 5 --out benchmarks/logs/sprites_2026-12-07_fiftysixth/cpu_screen \
    --label $1-32 --set run.still_guidance=$2 --set "run.still_guidance_sigmas=$3" \
    --baseline benchmarks/logs/sprites_2026-12-06_fortyfifth/SP50/tune/SP50-32.json > benchmarks/logs/sprites_2026-12-07_fiftysixth/cpu_screen/$1-32.log 2>&1
done
