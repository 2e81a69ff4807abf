#!/usr/bin/env bash
# Forty-fifth session's GPU calls for the next session (CALL=NAME bash .../calls.sh on the device machine),
# written before they ran. The committed weights OF2, 30 s (prompts 0-15 x seeds 0-3, 480 latent frames,
# the reported split), as the thirty-fifth session's R30a/R30b ran them with RO2.
#   CALL=R30b  Stream-T1 resumed from this session's R30 (12 of 16 prompts per seed done), beam and the
#              compute-matched best-of-n from the start; each process stops at LIMIT (beam and best-of-n may
#              stop short of 16 prompts: CALL=R30c resumes them).
#   CALL=R30c  beam and best-of-n resumed from R30b's parts (carry them into the tree at R30b/runs/rep), and
#              the four ablations from the start.
# Then on the CPU: streamt1 evaluate --merge over R30/runs/rep/none-*, R30b's and R30c's parts; paired tables
# with benchmarks/sprites_weights_paired.py --common (each method against plain and against Stream-T1).
# The CUDA tests ride along in R30b (about 46 s; their log comes back as cuda_tests.log).
set -uo pipefail
L=benchmarks/logs/sprites_2026-12-06_fortyfifth
P=benchmarks/logs/sprites_2026-12-05_thirtyfifth/presets.sh
case ${CALL:?} in
  R30b) (python3 -m pytest -o addopts="" -q -p no:logging -k cuda --continue-on-collection-errors tests \
           > ${OUT:-runs/out}/cuda_tests.log 2>&1; tail -n 3 ${OUT:-runs/out}/cuda_tests.log) &
        METHODS="stream-t1 beam best-of-n" FRAMES=480 PROMPTS=16 LIMIT=${LIMIT:-520} RESUME=$L/R30/runs/rep \
          REP=runs/R30b bash $P
        wait ;;
  R30c) METHODS="beam best-of-n stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" \
          FRAMES=480 PROMPTS=16 LIMIT=${LIMIT:-540} RESUME=$L/R30b/runs/R30b REP=runs/R30c bash $P ;;
  *) echo "CALL=$CALL: R30b or R30c" >&2; exit 2 ;;
esac
