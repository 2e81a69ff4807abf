#!/usr/bin/env bash
# Planned calls (twenty-seventh session wrote them; no device was lent that session), one H200 each:
# every preset with the committed weights M2, finished.
#   LEN=5s bash benchmarks/logs/sprites_2026-12-04_twentyseventh/R.sh    # call F1: finish R10 (early pruning has 64 videos to go: ~470 s)
#   LEN=30s bash benchmarks/logs/sprites_2026-12-04_twentyseventh/R.sh   # call T1: the main four at 30 s (~480 s)
#   LEN=30s METHODS="stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" \
#     bash benchmarks/logs/sprites_2026-12-04_twentyseventh/R.sh         # call T2: the ablations at 30 s
# (then one table on the CPU: copy T2's methods into T1's results_30s.json as the python below does, and
#  `streamt1 evaluate --merge` it)
# 5 s: the twenty-sixth session's R10 (prompts 0-31 x seeds 0-3, 81 frames) stopped some presets at its
# 470 s limit (stream-t1 95 of 128 videos, beam 108, early pruning 64, no noise 94, no pruning 93, no
# sinking 108). Each is resumed from a copy of R10/results.json (same settings fingerprint: R10 ran with
# --weights runs/M2, so the committed weights and rewards are copied to runs/M2 first; the finished videos
# stay as they were), then the finished videos go back into one results.json and the table is remade.
# 30 s: the eight presets the twenty-fourth and twenty-fifth sessions ran with P4 (R8 + R9: prompts 0-7 x
# seeds 0-3, 480 frames), in two calls; plain generation's 28 videos of R11 are resumed the same way.
set -uo pipefail
nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
W=src/streamt1/sprites/weights
L26=benchmarks/logs/sprites_2026-12-04_twentysixth
rm -rf runs/fill runs/fill-all  # a warm machine keeps the last call's folders, which would resume into this one
mkdir -p runs/M2 && cp $W/sprites_model.* $W/image_reward.* $W/video_reward.* runs/M2/
if [[ ${LEN:?} == 5s ]]; then
  FROM=$L26/R10 FLAGS="--num-prompts 32 --num-frames 81"
  METHODS=${METHODS:-beam stream-t1 stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking}
  ALL=none,best-of-n,beam,stream-t1,stream-t1-early,stream-t1-no-noise,stream-t1-no-pruning,stream-t1-no-sinking
else
  FROM=$L26/R11 FLAGS="--num-prompts 8 --num-frames 480"
  METHODS=${METHODS:-none best-of-n beam stream-t1}
  ALL=none,${METHODS// /,}
  ALL=${ALL/none,none,/none,}
fi
for m in $METHODS; do  # one process per preset and seed, as sprites_eval_gpu.sh runs them
  for seed in 0 1 2 3; do
    mkdir -p runs/fill/$m-$seed && cp $FROM/results.json runs/fill/$m-$seed/
    timeout ${LIMIT:-530} python3 -m streamt1 evaluate --methods $m --seeds $seed $FLAGS --no-videos --device cuda \
      --weights runs/M2 --out runs/fill/$m-$seed > runs/fill/$m-$seed.log 2>&1 &
  done
done
wait
python3 - "$FROM/results.json" $METHODS <<'PY'
import json, sys
merged = json.load(open(sys.argv[1]))
for m in sys.argv[2:]:
    for seed in range(4):
        run = json.load(open(f"runs/fill/{m}-{seed}/results.json"))
        if merged["fingerprints"].setdefault(m, run["fingerprints"][m]) != run["fingerprints"][m]:
            raise SystemExit(f"{m}, seed {seed}: other settings than the videos before")
        merged["settings"][m] = run["settings"][m]
        merged["videos"].setdefault(m, {}).update(run["videos"][m])
    print(m, len(merged["videos"][m]), "videos")
json.dump(merged, open("runs/fill/results.json", "w"))
PY
python3 -m streamt1 evaluate --merge runs/fill --out runs/fill-all --methods $ALL $FLAGS --seeds 0,1,2,3
cp runs/fill-all/table.md $OUT/table_$LEN.md && cp runs/fill-all/results.json $OUT/results_$LEN.json
tail -n 2 runs/fill/*.log > $OUT/logs_tail_$LEN.txt
cat $OUT/table_$LEN.md | head -20
