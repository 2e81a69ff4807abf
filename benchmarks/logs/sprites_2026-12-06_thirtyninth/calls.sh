#!/usr/bin/env bash
# Device calls of the thirty-ninth session (written before the runs): the searches with the object-centric
# track reward (`sprites-track-image`, `sprites-track-video`: learned masks, tracks, shapes, motion and
# backgrounds judged by the ground truth's rules; src/streamt1/sprites/track_reward.py) in place of the pathway
# rewards. Nothing to carry: the track reward's weights are committed beside the others.
#   CALL=T5  bash .../calls.sh   (~480 s) the tuning split (A, below) beside best-of-n, beam, Stream-T1 at 5 s
#   CALL=T30 bash .../calls.sh   (~500 s) best-of-n, beam, Stream-T1 at 30 s
#   CALL=AB  bash .../calls.sh   (~450 s) the four ablations at 5 s
# Reported split as in the thirty-eighth session: prompts 0-31 (5 s, 81 frames) or 0-15 (30 s, 480 frames) x
# seeds 0-3, weights RO2, final_score windows. Plain generation uses no reward: its rows are the thirty-eighth
# session's (parts/runs/W5 there, and W30all). Those runs report the track reward whatever the tuning split says.
#
# A, the decision (the only runs read for it): Stream-T1 on the tuning split, prompts 32-63 x seeds 5, 6, 7
# (96 videos, 81 frames, benchmarks/sprites_tuning.py), with the committed pathway rewards (path-s*) and with
# the track reward (track-s*). Rule: the track reward becomes the Sprites default if track - path is above 0
# beyond noise (95 % interval) on subject consistency or text alignment, and no ground-truth metric is below
# beyond noise by more than 0.5 points (imaging quality judged by its distance from the render, as before).
# Paired by paired_tune.py in this folder.
set -uo pipefail
P=benchmarks/logs/sprites_2026-12-05_thirtyfifth/presets.sh
TRACK="rewards.image=sprites-track-image rewards.video=sprites-track-video"
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
OUTDIR=${OUT:-runs/out}; mkdir -p "$OUTDIR"
tuning() {
  mkdir -p runs/TA
  for seed in 5 6 7; do
    timeout ${LIMIT:-480} python3 benchmarks/sprites_tuning.py --method stream-t1 --label path-s$seed --out runs/TA \
      --num-prompts 32 --num-frames 81 --seed $seed > runs/TA/path-s$seed.log 2>&1 &
    timeout ${LIMIT:-480} python3 benchmarks/sprites_tuning.py --method stream-t1 --label track-s$seed --out runs/TA \
      --num-prompts 32 --num-frames 81 --seed $seed --set rewards.image=sprites-track-image \
      --set rewards.video=sprites-track-video > runs/TA/track-s$seed.log 2>&1 &
  done
  wait
  cp runs/TA/*.json runs/TA/*.log "$OUTDIR"/
}
# T5b: the first T5 call (471 s) finished best-of-n and the pathway tuning runs only: the track reward's per-clip
# GPU syncs cost ~20 s a video among 18 processes (fixed since: one batched pass per call). It resumes Stream-T1
# and beam from that call's results (carry runs/T5r; RESUME keeps every finished video) and runs the track
# tuning runs in halves of 16 prompts (track-32-s*, track-48-s*), so each process ends inside the limit.
tuning_halves() {
  mkdir -p runs/TA
  for seed in 5 6 7; do for half in 32 48; do
    timeout ${LIMIT:-480} python3 benchmarks/sprites_tuning.py --method stream-t1 --label track-$half-s$seed \
      --out runs/TA --offset $half --num-prompts 16 --num-frames 81 --seed $seed \
      --set rewards.image=sprites-track-image --set rewards.video=sprites-track-video > runs/TA/track-$half-s$seed.log 2>&1 &
  done; done
  wait
  tar czf "$OUTDIR/TA.tgz" runs/TA/*.json runs/TA/*.log
}
case ${CALL:?CALL=T5, T5b, T30 or AB} in
  T5b) tuning_halves &
       RESUME=runs/T5r/runs/T5 SET=$TRACK METHODS="beam stream-t1" LIMIT=${LIMIT:-480} REP=runs/T5 bash $P &
       wait ;;
  T5) tuning &
      SET=$TRACK METHODS="best-of-n beam stream-t1" LIMIT=${LIMIT:-480} REP=runs/T5 bash $P &
      wait ;;
  T30) SET=$TRACK METHODS="stream-t1 beam best-of-n" FRAMES=480 PROMPTS=16 LIMIT=${LIMIT:-500} REP=runs/T30 bash $P ;;
  AB) SET=$TRACK METHODS="stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" \
        LIMIT=${LIMIT:-450} REP=runs/T5ab bash $P ;;
  *) echo "CALL=$CALL: expected T5, T30 or AB" >&2; exit 2 ;;
esac
