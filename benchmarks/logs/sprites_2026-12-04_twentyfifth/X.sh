#!/usr/bin/env bash
# Calls X1, X2 (twenty-fifth session), one H200:
#  * NAME = P4 + MIN minutes of P4's recipe (lr 3e-4, --event-share 0.25) with --misdrawn-share SHARE (new:
#    that share of items draws every sprite wrong in the clean context, another shape and half of them a
#    size smaller, while the targets keep the caption's, so later chunks, not only the first, must read
#    the shape word and restore what the context lost). X1 (S1) ran at commit cf01e59, where the flag was
#    --swapped-share (other shapes only, sizes kept), with the 30 s ablations beside it, which starved the
#    trainer (600 steps); X2 (S2) trains alone (SKIP30=1, COMPILE=--compile);
#  * unless SKIP30: beside it, the 30 s ablations with the committed weights and rewards (prompts 0-7 x
#    seeds 0-3, 480 frames; merged on the CPU with R8's plain and Stream-T1 videos);
#  * after it: plain generation of S1 on the tuning split (prompts 32-63, seed 5, 96 frames) paired
#    with P4's runs of the twenty-second session, the first-chunk diagnosis of S1 and P4 (eval split,
#    24 scenes), and the README prompt with S1.
# Decision written before the call: S1 goes on to the reported split only if on the tuning split its
# shape match is above P4's with the interval excluding 0 and no other metric is below P4's beyond noise.
#   NAME=S1 SHARE=0.3 MIN=5.0 bash benchmarks/logs/sprites_2026-12-04_twentyfifth/X.sh   (at cf01e59)
#   NAME=S2 SHARE=0.3 MIN=5.5 SKIP30=1 COMPILE=--compile WORKERS=14 bash benchmarks/logs/sprites_2026-12-04_twentyfifth/X.sh
# Call X4 (carry runs/S2): S3 = S2 + 4.5 minutes at half the share, to see whether S2's loss of imaging
# quality on the tuning split (-1.1 +- 0.5 points over 96 videos, which failed Y.sh's rule) recovers while
# its gains in text alignment and presence stay; the tuning split over seeds 5, 6, 7 (P4's runs are in
# the logs), no P4 rerun:
#   NAME=S3 INIT=runs/S2 SHARE=0.15 MIN=4.5 SKIP30=1 COMPILE=--compile WORKERS=14 TUNE_SEEDS="5 6 7" NOP4NOW=1 \
#     LIMIT=140 bash benchmarks/logs/sprites_2026-12-04_twentyfifth/X.sh
# (the same rule as Y.sh's decides whether S3 may replace P4)
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
N=${NAME:?}
W=src/streamt1/sprites/weights
P4=benchmarks/logs/sprites_2026-12-04_twentysecond/P4/tune
mkdir -p runs/$N $OUT/tune $OUT/first $OUT/readme
python3 -m streamt1.sprites.train --out runs/$N --init ${INIT:-$W} --event-share 0.25 --misdrawn-share ${SHARE:?} ${COMPILE:-} --steps 100000 \
  --lr 3e-4 --batch-size 64 --reuse 4 --motion-weight 4 --first-chunk-copies 4 --caption-dropout 0.1 \
  --max-minutes ${MIN:-5.0} --device cuda --workers ${WORKERS:-10} > runs/$N/train.log 2>&1 &
TRAIN=$!
if [[ -z ${SKIP30:-} ]]; then
  ROOT=runs/R9 OUT=$OUT/R9 PROMPTS=8 SEEDS="0 1 2 3" FRAMES=480 ABLATIONS= ORACLE_PROMPTS=0 LIMIT=${LIMIT30:-350} \
    MAIN="stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" \
    bash benchmarks/sprites_eval_gpu.sh > $OUT/R9.log 2>&1 &
fi
wait $TRAIN
tail -n 2 runs/$N/train.log | cut -c1-300
python3 - "$N" <<'PY'
import json, sys
h = json.load(open("src/streamt1/sprites/weights/sprites_model.json"))
path = f"runs/{sys.argv[1]}/sprites_model.json"
r = json.load(open(path)); r["stream_config"] = h["stream_config"]
json.dump(r, open(path, "w"), indent=1)
PY
cp $W/image_reward.* $W/video_reward.* runs/$N/
export OMP_NUM_THREADS=1
L=${LIMIT:-150}
T="python3 benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --weights runs/$N --out $OUT/tune"
X3=benchmarks/logs/sprites_2026-12-04_twentyfifth/X3/tune
for seed in ${TUNE_SEEDS:-5}; do
  for half in 32 48; do
    if [[ $seed == 5 ]]; then label=$N-$half base=$P4/P4-$half.json; else label=$N-$half-s$seed base=$X3/P4-$half-s$seed.json; fi
    timeout $L $T --offset $half --seed $seed --label $label --baseline $base > $OUT/tune/$label.log 2>&1 &
  done
done
for half in $( [[ -z ${NOP4NOW:-} ]] && echo 32 48 ); do
  # P4 again in this call (the pairing above is with the twenty-second session's runs)
  timeout $L python3 benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --out $OUT/tune --offset $half \
    --label P4now-$half --baseline $P4/P4-$half.json > $OUT/tune/P4now-$half.log 2>&1 &
done
for w in $N $( [[ -z ${NOP4NOW:-} ]] && echo P4 ); do
  [[ $w == P4 ]] && dir=$W || dir=runs/$w
  timeout $L python3 benchmarks/sprites_first_chunk.py --weights $dir --split eval > $OUT/first/$w.log 2>&1 &
done
timeout $L python3 benchmarks/sprites_readme_prompt.py --weights runs/$N --out $OUT/readme > $OUT/readme/$N.log 2>&1 &
wait
grep -hv Warning $OUT/tune/*.log | cut -c1-400
for f in $OUT/first/*.log; do echo "== $f"; grep -v Warning $f; done
grep -v Warning $OUT/readme/$N.log
cp runs/$N/sprites_model.json runs/$N/train.log $OUT/
tar czf $OUT/$N.tgz runs/$N/sprites_model.safetensors runs/$N/sprites_model.json
tar czf $OUT/evals_$N.tgz -C $OUT tune first readme && rm -r $OUT/tune $OUT/first $OUT/readme  # the return takes few files
[[ -z ${SKIP30:-} ]] && tar czf $OUT/R9.tgz runs/R9/learned $OUT/R9.log
ls $OUT
