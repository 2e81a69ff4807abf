#!/usr/bin/env bash
# A candidate Sprites model on one GPU machine, in one call: train NAME from INIT with the recipe of the
# committed weights plus FLAGS, then, beside each other on its device, plain generation on the
# tuning split (prompts 32-63 x seeds 5, 6, 7, 96 frames) paired with a baseline's stored runs of the same
# kind, the shape over the video (sprites_shape_over_time.py, the candidate's and INIT's), the first-chunk
# diagnosis (sprites_first_chunk.py, eval split), the README prompt, the straight moves' start
# (sprites_motion_start.py) and the captioned background changes (sprites_background_changes.py, seeds 5 and 6),
# the last two the candidate's and INIT's. The return takes few files: the weights and the
# evaluations come back as two archives. A candidate that passes its tuning rule goes on to the reported split
# (STAGES=report, its own call).
#
#   NAME=W1 FLAGS="--misdrawn-window-share 0.25" bash benchmarks/sprites_candidate_gpu.sh
#
# Settings (environment):
#   NAME            the candidate's name (runs/NAME, labels, archives)
#   INIT            weights to start from (default: the committed ones)
#   FLAGS           training flags beyond RECIPE
#   RECIPE          the committed weights' training flags (OF2's; see its sprites_model.json lineage)
#   MIN=5.0         training minutes; WORKERS=14 rendering processes
#   BASE            folder of the baseline's sprites_tuning.py runs, labelled BASE_NAME-32, BASE_NAME-48
#                   (seed 5) and BASE_NAME-<half>-s<seed> (seeds 6, 7) (default: those of SP50, the committed
#                   weights, forty-fifth session, CPU float32)
#   BASE_NAME=SP50  LIMIT=170 seconds for each evaluation process
#   DEVICE=cuda     COMPILE=--compile (empty: eager)
#   MOTION_FLAGS    sprites_motion_start.py's flags for both models (e.g. "--context-frames 15" for a wider window)
#   OUT             where the results go (the device machine sets it)
#   STAGES="train eval"  train: train runs/NAME (and return its weights); eval: evaluate runs/NAME (from this
#                   call's training, or carried: two calls when both do not fit one call's 600 s); report: copy
#                   runs/NAME over the committed weights and run plain, Stream-T1, best-of-n and beam on the
#                   reported split (held-out prompts 0-31 x seeds 0-3, 81 latent frames, bf16; presets.sh of the
#                   thirty-fifth session, its parts in runs/NAME-report; LIMIT default 400 there); the committed
#                   weights are put back when the script ends
# A CPU check of the script (a few steps at batch 4; the evaluations stop at their limit, which checks the
# wiring, not the numbers): OUT=runs/cpu-check-out DEVICE=cpu COMPILE= MIN=0.3 WORKERS=0 LIMIT=30 \
#   RECIPE="--batch-size 4" NAME=cpu-check bash benchmarks/sprites_candidate_gpu.sh
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
[[ ${DEVICE:-cuda} == cpu ]] || nvidia-smi --query-gpu=name --format=csv,noheader
N=${NAME:?} OUT=${OUT:?set OUT to the folder for the results}
W=src/streamt1/sprites/weights
RECIPE=${RECIPE:---event-share 0.25 --misdrawn-first-share 0.25 --rollout-share 0.25 --own-first-share 0.5 --own-first-scenes 4096 --lr 3e-4 --batch-size 64 --reuse 4 --motion-weight 4 --first-chunk-copies 4 --caption-dropout 0.1}
BASE=${BASE:-benchmarks/logs/sprites_2026-12-06_fortyfifth/SP50/tune} BASE_NAME=${BASE_NAME:-SP50}
STAGES=${STAGES:-train eval}
for stage in $STAGES; do
  [[ $stage == train || $stage == eval || $stage == report ]] ||
    { echo "STAGES=\"$STAGES\": each stage is train, eval or report" >&2; exit 2; }
done
mkdir -p runs/$N $OUT/tune $OUT/first $OUT/readme
if [[ " $STAGES " == *" train "* ]]; then
  python3 -m streamt1 sprites train --out runs/$N --init ${INIT:-$W} $RECIPE ${FLAGS:-} ${COMPILE---compile} \
    --steps 100000 --max-minutes ${MIN:-5.0} --device ${DEVICE:-cuda} --workers ${WORKERS:-14} > runs/$N/train.log 2>&1
  trained=$?
  grep -h "drew" runs/$N/train.log | cut -c1-300
  tail -n 2 runs/$N/train.log | cut -c1-300
  (( trained == 0 )) || { echo "training $N failed (exit $trained): runs/$N/train.log" >&2; cp runs/$N/train.log $OUT/; exit $trained; }
  cp $W/*_reward.* runs/$N/  # the committed rewards, for the README prompt's search
  cp runs/$N/sprites_model.json runs/$N/train.log $OUT/
  tar czf $OUT/$N.tgz runs/$N/sprites_model.safetensors runs/$N/sprites_model.json
fi
if [[ " $STAGES " == *" eval "* || " $STAGES " == *" report "* ]]; then
  [[ -f runs/$N/sprites_model.safetensors ]] || { echo "runs/$N has no weights: train it or carry it" >&2; exit 2; }
fi
if [[ " $STAGES " == *" eval "* ]]; then
  for f in $W/*_reward.*; do [[ -e runs/$N/${f##*/} ]] || cp $f runs/$N/; done  # a carried run keeps its own
  export OMP_NUM_THREADS=1
  L=${LIMIT:-170}
  T="python3 benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --weights runs/$N --out $OUT/tune"
  for seed in 5 6 7; do
    for half in 32 48; do
      suffix=$half$([[ $seed == 5 ]] || echo -s$seed)
      timeout $L $T --offset $half --seed $seed --label $N-$suffix --baseline $BASE/$BASE_NAME-$suffix.json \
        > $OUT/tune/$N-$suffix.log 2>&1 &
    done
  done
  timeout $L python3 benchmarks/sprites_shape_over_time.py --weights runs/$N > $OUT/first/$N-over-time.log 2>&1 &
  # the starting weights on the same device: GPU and CPU videos differ in detail
  timeout $L python3 benchmarks/sprites_shape_over_time.py --weights ${INIT:-$W} > $OUT/first/init-over-time.log 2>&1 &
  timeout $L python3 benchmarks/sprites_first_chunk.py --weights runs/$N --split eval > $OUT/first/$N.log 2>&1 &
  timeout $L python3 benchmarks/sprites_readme_prompt.py --weights runs/$N --out $OUT/readme > $OUT/readme/$N.log 2>&1 &
  timeout $L python3 benchmarks/sprites_motion_start.py --weights runs/$N ${MOTION_FLAGS:-} > $OUT/first/$N-motion.log 2>&1 &
  timeout $L python3 benchmarks/sprites_motion_start.py --weights ${INIT:-$W} ${MOTION_FLAGS:-} > $OUT/first/init-motion.log 2>&1 &
  for model in $N init; do
    weights=$([[ $model == $N ]] && echo runs/$N || echo ${INIT:-$W})
    timeout $L python3 benchmarks/sprites_background_changes.py --weights $weights --seeds 5,6 \
      > $OUT/first/$model-changes.log 2>&1 &
  done
  wait
  grep -hv Warning $OUT/tune/*.log | cut -c1-400
  for f in $OUT/first/*.log; do echo "== $f"; grep -v Warning $f; done
  grep -v Warning $OUT/readme/$N.log
  tar czf $OUT/evals_$N.tgz -C $OUT tune first readme || exit $?  # the evaluations stay in $OUT if it fails
fi
rm -r $OUT/tune $OUT/first $OUT/readme
reported=0
if [[ " $STAGES " == *" report "* ]]; then
  # the presets run the built-in weights: the candidate stands in for them, and they are put back at the end
  # (a local run must not leave the tracked files changed)
  mkdir -p runs/$N-committed && cp $W/sprites_model.* runs/$N-committed/ || exit $?
  trap 'cp runs/$N-committed/sprites_model.* $W/' EXIT
  cp runs/$N/sprites_model.* $W/ || exit $?
  OMP_NUM_THREADS=1 METHODS="none stream-t1 best-of-n beam" FRAMES=81 PROMPTS=32 LIMIT=${LIMIT:-400} \
    REP=runs/$N-report bash benchmarks/logs/sprites_2026-12-05_thirtyfifth/presets.sh
  reported=$?
fi
ls $OUT
exit $reported
