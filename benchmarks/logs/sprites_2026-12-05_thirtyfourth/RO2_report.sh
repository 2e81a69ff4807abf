#!/usr/bin/env bash
# RO2 on the reported split (thirty-fourth session), one GPU call, carry ["runs/RO2"]:
#   bash benchmarks/logs/sprites_2026-12-05_thirtyfourth/RO2_report.sh
# RO2 passed the rule written in the thirty-third session's RO2.sh on the tuning split (presence +7.4 ± 4.0
# points above M2, no metric worse beyond the 0.5-point margin as paired_w1.py judges it); that rule asks for
# the reported split (held-out prompts 0-31 x seeds 0-3, 81 frames, M2's call R10) before the README changes.
# Here: plain generation and Stream-T1, one process per method and seed, each stopped at LIMIT seconds
# (evaluate keeps every finished video). Judge on the CPU:
#   python benchmarks/sprites_weights_paired.py --also imaging_quality \
#     M2=benchmarks/logs/sprites_2026-12-04_twentysixth/R10 RO2=FOLDER/eval-none-0,...
set -uo pipefail
[[ ${DEVICE:-cuda} == cpu ]] || nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
W=src/streamt1/sprites/weights
[[ -f runs/RO2/sprites_model.safetensors ]] || { echo "runs/RO2 is missing: pass carry [\"runs/RO2\"]" >&2; exit 2; }
cp $W/image_reward.* $W/video_reward.* runs/RO2/
rm -rf runs/rep && mkdir -p runs/rep
for m in ${METHODS:-none stream-t1}; do
  for seed in ${SEEDS:-0 1 2 3}; do
    timeout ${LIMIT:-240} python3 -m streamt1 evaluate --methods $m --seeds $seed --num-prompts ${PROMPTS:-32} \
      --num-frames ${FRAMES:-81} --no-videos --device ${DEVICE:-cuda} --weights runs/RO2 \
      --out runs/rep/$m-$seed > runs/rep/$m-$seed.log 2>&1 &
  done
done
wait
tar czf $OUT/rep.tgz runs/rep/*/results.json runs/rep/*.log  # one file back (the return takes few files)
grep -H "^| \(none\|stream-t1\) |\|Error\|error" runs/rep/*.log > $OUT/logs_tail.txt
cat $OUT/logs_tail.txt
