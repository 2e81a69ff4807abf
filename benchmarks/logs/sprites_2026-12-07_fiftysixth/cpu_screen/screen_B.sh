cd "$(git rev-parse --show-toplevel)"
for seed in 5 6 7; do for half in 32 48; do
  suffix=$half$([[ $seed == 5 ]] || echo -s$seed)
  [[ -f benchmarks/logs/sprites_2026-12-07_fiftysixth/cpu_screen/B-$suffix.json ]] && continue
  .venv/bin/python benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --offset $half --seed $seed --out benchmarks/logs/sprites_2026-12-07_fiftysixth/cpu_screen \
    --label B-$suffix --set run.still_guidance=0.5 --set "run.still_guidance_sigmas=[0.75,1]" \
    --baseline benchmarks/logs/sprites_2026-12-06_fortyfifth/SP50/tune/SP50-$suffix.json > benchmarks/logs/sprites_2026-12-07_fiftysixth/cpu_screen/B-$suffix.log 2>&1
done; done
