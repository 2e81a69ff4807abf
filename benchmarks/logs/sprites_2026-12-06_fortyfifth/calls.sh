#!/usr/bin/env bash
# Forty-fifth session's GPU calls for the next session (CALL=NAME bash .../calls.sh on the device machine),
# written before they ran. The committed weights OF2, 30 s (prompts 0-15 x seeds 0-3, 480 latent frames,
# the reported split), as the thirty-fifth session's R30a/R30b ran them with RO2.
#   CALL=SPR   first: the soup SP50 (adopted on the tuning split by this session's rule, README.md here) on the
#              reported split (prompts 0-31 x seeds 0-3, 81 latent frames), plain, Stream-T1, best-of-n and beam,
#              one process per method and seed, bf16, as OF2's report (fortysecond/OF2/report) ran. SP50 travels
#              in place of the committed weights (the tree plus a carried 12.7 MB file would pass the 64 MiB
#              limit): cp runs/SP50/sprites_model.* src/streamt1/sprites/weights/ before the call (remake it with
#              benchmarks/sprites_weight_soup.py --base src/streamt1/sprites/weights --other runs/OW5 --share 0.5
#              --out runs/SP50 if runs/ is gone), git checkout src/streamt1/sprites/weights after it.
#              Rule (written before the call): commit SP50 as the default only if its plain generation on the
#              reported split is worse than OF2's (OF2/report/all, same device kind and dtype) beyond noise by
#              more than 0.5 points on no ground-truth metric (imaging quality read as imaging_vs_render) and
#              Stream-T1 still beats SP50's plain generation beyond noise on subject consistency and text
#              alignment. If committed, the 30 s calls below run with SP50 from the start: CALL=R30b FRESH=1
#              (plain as well, nothing resumed; OF2's R30 rows stay as they are).
#   CALL=R30b  Stream-T1 resumed from this session's R30 (12 of 16 prompts per seed done), beam and the
#              compute-matched best-of-n from the start; each process stops at LIMIT (beam and best-of-n may
#              stop short of 16 prompts: CALL=R30c resumes them).
#   CALL=R30c  beam and best-of-n resumed from R30b's parts (carry them into the tree at R30b/runs/rep), and
#              the four ablations from the start.
# Then on the CPU: streamt1 evaluate --merge over R30/runs/rep/none-*, R30b's and R30c's parts; paired tables
# with benchmarks/sprites_weights_paired.py --common (each method against plain and against Stream-T1).
# The CUDA tests ride along in R30b (about 46 s; their log comes back as cuda_tests.log). As first run (forty-sixth
# session) without PYTHONPATH: they did not import streamt1 (R30b/cuda_tests.log); run again after R30c.
set -uo pipefail
L=benchmarks/logs/sprites_2026-12-06_fortyfifth
P=benchmarks/logs/sprites_2026-12-05_thirtyfifth/presets.sh
case ${CALL:?} in
  SPR) grep -q '"soup"' src/streamt1/sprites/weights/sprites_model.json \
         || { echo "copy runs/SP50/sprites_model.* over src/streamt1/sprites/weights/ first" >&2; exit 2; }
       METHODS="none stream-t1 best-of-n beam" WEIGHTS=src/streamt1/sprites/weights LIMIT=${LIMIT:-520} \
         bash benchmarks/logs/sprites_2026-12-05_thirtyfourth/RO2_report.sh ;;
  R30b) (PYTHONPATH=$PWD/src python3 -m pytest -o addopts="" -q -p no:logging -k cuda --continue-on-collection-errors tests \
           > ${OUT:-runs/out}/cuda_tests.log 2>&1; tail -n 3 ${OUT:-runs/out}/cuda_tests.log) &
        if [[ -n ${FRESH:-} ]]; then methods="none stream-t1 beam best-of-n" resume=; \
        else methods="stream-t1 beam best-of-n" resume=$L/R30/runs/rep; fi
        METHODS="$methods" FRAMES=480 PROMPTS=16 LIMIT=${LIMIT:-520} RESUME=$resume REP=runs/R30b bash $P
        wait ;;
  R30c) METHODS="beam best-of-n stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" \
          FRAMES=480 PROMPTS=16 LIMIT=${LIMIT:-540} RESUME=$L/R30b/runs/R30b REP=runs/R30c bash $P ;;
  *) echo "CALL=$CALL: SPR, R30b or R30c" >&2; exit 2 ;;
esac
