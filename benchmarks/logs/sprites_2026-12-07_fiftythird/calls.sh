#!/usr/bin/env bash
# Device calls of the fifty-third session (2026-12-07).
#   CALL=TESTS  the whole test suite on the GPU machine, verbose, so that a cut run still names each outcome.
#               The image lacks diffusers and PyAV. With the repo at 61 MB, diffusers' wheel (6.4 MB) no longer
#               fits the call's 64 MiB, so it travels as a zip (zipimport) without its pipelines (which nothing here
#               imports):
#                 pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#                   --platform manylinux_2_28_x86_64 -d /tmp/w diffusers==0.42.1
#                 unzip the wheel, delete diffusers/pipelines/*/ and diffusers/modular_pipelines/*/, and
#                 zip -r -9 .whl/diffusers.zip diffusers   (2.2 MB; carry .whl).
#               Tests that write or read MP4s fail there (no PyAV).
#   CALL=MEASURE  TESTS, and beside it the motion probe chunk by chunk and empty_background.py (see its docstring).
set -uo pipefail
case ${CALL:?} in
  TESTS) PYTHONPATH=$PWD/src:$PWD/.whl/diffusers.zip OMP_NUM_THREADS=2 timeout ${LIMIT:-540} python3 -m pytest -o addopts="" -v \
           -p no:cacheprovider -n 8 --timeout 120 --continue-on-collection-errors -rfE tests \
           > ${OUT:-runs/out}/device_tests.log 2>&1
         echo "pytest exit $?"
         grep -cE " PASSED " ${OUT:-runs/out}/device_tests.log; grep -E " (FAILED|ERROR) " ${OUT:-runs/out}/device_tests.log | head -60
         tail -n 3 ${OUT:-runs/out}/device_tests.log ;;
  MEASURE) # beside TESTS, on the GPU: the motion probe chunk by chunk, and the background metric's fix on the
           # reported split (plain, 128 videos; Stream-T1, 32 videos of seed 0)
           export PYTHONPATH=$PWD/src OMP_NUM_THREADS=2
           D=benchmarks/logs/sprites_2026-12-07_fiftythird
           timeout ${PART_LIMIT:-360} python3 benchmarks/sprites_motion_start.py --chunks 12 > $OUT/motion_chunks.log 2>&1 &
           timeout ${PART_LIMIT:-360} python3 $D/empty_background.py > $OUT/empty_background_none.log 2>&1 &
           timeout ${PART_LIMIT:-360} python3 $D/empty_background.py --method stream-t1 --seeds 0 > $OUT/empty_background_st1.log 2>&1 &
           CALL=TESTS bash $D/calls.sh
           wait; tail -n 30 $OUT/motion_chunks.log $OUT/empty_background_*.log ;;
  *) echo "CALL=$CALL: TESTS or MEASURE" >&2; exit 2 ;;
esac
