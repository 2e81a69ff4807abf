#!/usr/bin/env bash
# Forty-fourth session's GPU calls (CALL=NAME bash .../calls.sh on the device machine), each written before it ran.
#   CALL=OW4, CALL=OW2  the forty-third session's rules OW4.sh and OW2.sh, unchanged.
#   CALL=R30  plain generation and Stream-T1 with the committed weights OF2 at 30 s (prompts 0-15 x seeds 0-3,
#             480 latent frames, the reported split), as the thirty-fifth session's R30a ran them with RO2; with
#             the ~360 s of device time left, each process stops at LIMIT=280 s (Stream-T1 will not finish: the
#             parts resume with RESUME=<this folder's R30> in a later call). Read against RO2's rows of the same
#             prompts and seeds (thirtyfifth/R30all) and as Stream-T1 - plain over the videos both finished.
#             (Not run: the device refused it, too little of the session's time was left to start a machine.)
set -uo pipefail
L=benchmarks/logs/sprites_2026-12-06_fortythird
case ${CALL:?} in
  OW4) bash $L/OW4.sh ;;
  OW2) bash $L/OW2.sh ;;
  R30) METHODS="none stream-t1" FRAMES=480 PROMPTS=16 LIMIT=${LIMIT:-280} \
         bash benchmarks/logs/sprites_2026-12-05_thirtyfifth/presets.sh ;;
esac
