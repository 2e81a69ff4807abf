#!/usr/bin/env bash
# Planned call (twenty-seventh session wrote it; no device was lent that session): W1 = M2 (the committed
# weights) + MIN minutes of M2's recipe with --misdrawn-window-share SHARE (new this session: that share of
# the window chunks is noised, at sigma 0.6-0.95, from a render of themselves with other shapes, some a
# size smaller, after their right clean context, and aimed at the caption's render).
# Why: M2 draws the captioned shape in 45.6 % of its first chunk's frames but ~30 % in every later
# stretch (twenty-sixth session, shape_over_time.log): a later chunk also starts from pure noise and
# keeps the outline the noise chose; the first-chunk copies taught the first chunk to redraw it.
# After training, beside each other on the machine's CPUs: plain generation on the tuning split (prompts
# 32-63 x seeds 5, 6, 7, 96 frames) paired with M2's stored runs of call Z2 (same prompts, seeds, frames,
# device kind), the shape over the video (shape_over_time.py), the first-chunk diagnosis (its `context`
# row: frames 6-8 after clean frames 0-5) and the README prompt.
# Rule written before the call: W1 may replace M2 only if over the 96 tuning videos its shape or text
# alignment is above M2's with the 95 % interval excluding 0 and no ground-truth metric is below M2's
# beyond noise by more than 0.5 points, imaging quality judged against the render of the same caption
# (imaging_vs_render.py's comparison), not against M2's raw score; then every preset is rerun with it.
#   NAME=W1 SHARE=0.25 MIN=5 bash benchmarks/logs/sprites_2026-12-04_twentyseventh/W.sh
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
N=${NAME:?}
W=src/streamt1/sprites/weights
L26=benchmarks/logs/sprites_2026-12-04_twentysixth
M2=$L26/Z2/tune
mkdir -p runs/$N $OUT/tune $OUT/first $OUT/readme
python3 -m streamt1.sprites.train --out runs/$N --init ${INIT:-$W} --event-share 0.25 --misdrawn-first-share 0.25 \
  --misdrawn-window-share ${SHARE:?} --compile --steps 100000 --lr 3e-4 --batch-size 64 --reuse 4 --motion-weight 4 \
  --first-chunk-copies 4 --caption-dropout 0.1 --max-minutes ${MIN:-5.0} --device cuda --workers ${WORKERS:-14} \
  > runs/$N/train.log 2>&1
tail -n 2 runs/$N/train.log | cut -c1-300
cp $W/image_reward.* $W/video_reward.* runs/$N/
export OMP_NUM_THREADS=1
L=${LIMIT:-170}
T="python3 benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --weights runs/$N --out $OUT/tune"
for seed in 5 6 7; do
  for half in 32 48; do
    if [[ $seed == 5 ]]; then label=$N-$half base=$M2/M2-$half.json; else label=$N-$half-s$seed base=$M2/M2-$half-s$seed.json; fi
    timeout $L $T --offset $half --seed $seed --label $label --baseline $base > $OUT/tune/$label.log 2>&1 &
  done
done
timeout $L python3 $L26/shape_over_time.py --weights runs/$N > $OUT/first/$N-over-time.log 2>&1 &
timeout $L python3 benchmarks/sprites_first_chunk.py --weights runs/$N --split eval > $OUT/first/$N.log 2>&1 &
timeout $L python3 benchmarks/sprites_readme_prompt.py --weights runs/$N --out $OUT/readme > $OUT/readme/$N.log 2>&1 &
wait
grep -hv Warning $OUT/tune/*.log | cut -c1-400
for f in $OUT/first/*.log; do echo "== $f"; grep -v Warning $f; done
grep -v Warning $OUT/readme/$N.log
cp runs/$N/sprites_model.json runs/$N/train.log $OUT/
tar czf $OUT/$N.tgz runs/$N/sprites_model.safetensors runs/$N/sprites_model.json
tar czf $OUT/evals_$N.tgz -C $OUT tune first readme && rm -r $OUT/tune $OUT/first $OUT/readme  # the return takes few files
ls $OUT
