#!/usr/bin/env bash
# Fifty-fourth session's GPU calls (CALL=NAME bash .../calls.sh on the device machine), written before any ran.
#
# Why: after a moving clean context the committed weights (SP50) keep about two thirds of its speed per chunk and
# do not read it (twice the speed gives the same first step; fifty-third session). Their window is 9 frames: a chunk
# sees its own 3 and the 6 before it, in which a sprite at the world's speed moves ~3 px, under one 4-px latent cell.
# WIN widens the window to 15 frames (12 before the chunk, ~6 px), in training and so in generation.
#
#   CALL=WIN   WIN = SP50 + 5 min of the committed recipe (sprites_candidate_gpu.sh's RECIPE) with
#              --own-first-scenes 2048 (for time) --window-frames 15 --context-chunks 6 (so the window fills in
#              training); then sprites_candidate_gpu.sh's eval stage against SP50's GPU runs of the fifty-second
#              session, with the motion probe on a 15-frame context for both models. About 500 s.
#              Rule (written before the call): WIN goes on to the reported split only if motion or text alignment
#              gains beyond noise on the tuning split and no ground-truth metric is worse beyond noise by more than
#              0.5 points (imaging quality read as imaging_vs_render):
#                python benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py WIN FOLDER/tune \
#                  SP50gpu sprites_2026-12-07_fiftysecond/SP50gpu/tune
#   CALL=WINR  (only if WIN passes; carry runs/WIN) the report stage, judged as the fifty-first session's calls.sh
#              judges FSR; and WIN is committed only if plain generation of 10 s still takes at most 15 s on the
#              2-core CPU (benchmarks/sprites_cpu.py), since a wider window attends more frames.
#   CALL=PROBE (written after WIN failed its rule; carry .whl as ../sprites_2026-12-07_fiftythird/calls.sh says) the
#              test suite on the GPU (that session's CALL=TESTS) and beside it continuation_settings.py here on 24
#              scenes: 8, 24 and 48 denoising steps; windows 9, 15 and 21 at sampling only after a 21-frame context.
set -uo pipefail
export NAME=WIN
case ${CALL:?} in
  WIN) MIN=${MIN:-5.0} LIMIT=${LIMIT:-150} FLAGS="--own-first-scenes 2048 --window-frames 15 --context-chunks 6" \
         MOTION_FLAGS="--context-frames 15" BASE=benchmarks/logs/sprites_2026-12-07_fiftysecond/SP50gpu/tune \
         BASE_NAME=SP50gpu bash benchmarks/sprites_candidate_gpu.sh ;;
  WINR) STAGES=report bash benchmarks/sprites_candidate_gpu.sh ;;
  PROBE) D=benchmarks/logs/sprites_2026-12-07_fiftyfourth
         PYTHONPATH=$PWD/src timeout 300 python3 $D/continuation_settings.py --num-scenes 24 --steps 8,24,48 \
           > $OUT/steps.log 2>&1 &
         PYTHONPATH=$PWD/src timeout 300 python3 $D/continuation_settings.py --num-scenes 24 --context-frames 21 \
           --chunks 8 --windows 9,15,21 > $OUT/windows.log 2>&1 &
         CALL=TESTS LIMIT=360 bash benchmarks/logs/sprites_2026-12-07_fiftythird/calls.sh
         wait; grep -v Warn $OUT/steps.log $OUT/windows.log ;;
  *) echo "CALL=$CALL: WIN, WINR or PROBE" >&2; exit 2 ;;
esac
