#!/usr/bin/env bash
# RO2 on the reported split (thirty-fourth session), one GPU call, carry ["runs/RO2"]:
#   bash benchmarks/logs/sprites_2026-12-05_thirtyfourth/RO2_report.sh
# RO2 passed the rule written in the thirty-third session's RO2.sh on the tuning split (presence +7.4 ± 4.0
# points above M2, no metric worse beyond the 0.5-point margin as paired_w1.py judges it); that rule asks for
# the reported split (held-out prompts 0-31 x seeds 0-3, 81 frames, M2's call R10) before the README changes.
# Here: plain generation and Stream-T1 (METHODS: others), one process per method and seed, each stopped at LIMIT seconds
# (evaluate keeps every finished video). Judge on the CPU:
#   python benchmarks/sprites_weights_paired.py --also imaging_quality \
#     M2=benchmarks/logs/sprites_2026-12-04_twentysixth/R10 RO2=FOLDER/eval-none-0,...
# Planned next (no device time was left this session): the other presets with RO2 on the same split,
#   METHODS="best-of-n beam stream-t1-early" LIMIT=500 WEIGHTS=src/streamt1/sprites/weights bash .../RO2_report.sh
#   METHODS="stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" LIMIT=500 WEIGHTS=... bash .../RO2_report.sh
# then `streamt1 evaluate --merge` of every part into RO2/report/all (a rerun of a part resumes it: copy
# its results.json into runs/rep/METHOD-SEED first); and 30 s (prompts 0-15 x seeds 0-3, FRAMES=480 PROMPTS=16).
set -uo pipefail
[[ ${DEVICE:-cuda} == cpu ]] || nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
W=src/streamt1/sprites/weights
WEIGHTS=${WEIGHTS:-runs/RO2}  # once RO2 is committed: WEIGHTS=src/streamt1/sprites/weights (nothing to carry)
[[ -f $WEIGHTS/sprites_model.safetensors ]] || { echo "$WEIGHTS is missing: pass carry [\"runs/RO2\"]" >&2; exit 2; }
[[ $WEIGHTS == $W ]] || cp $W/image_reward.* $W/video_reward.* $WEIGHTS/
rm -rf runs/rep && mkdir -p runs/rep
for m in ${METHODS:-none stream-t1}; do
  for seed in ${SEEDS:-0 1 2 3}; do
    timeout ${LIMIT:-240} python3 -m streamt1 evaluate --methods $m --seeds $seed --num-prompts ${PROMPTS:-32} \
      --num-frames ${FRAMES:-81} --no-videos --device ${DEVICE:-cuda} --weights $WEIGHTS \
      --out runs/rep/$m-$seed > runs/rep/$m-$seed.log 2>&1 &
  done
done
wait
tar czf $OUT/rep.tgz runs/rep/*/results.json runs/rep/*.log  # one file back (the return takes few files)
grep -H "^| \(none\|stream-t1\|best-of-n\|beam\) |\|Error\|error" runs/rep/*.log > $OUT/logs_tail.txt
cat $OUT/logs_tail.txt
