#!/usr/bin/env bash
# Device calls of the thirty-eighth session (written before the runs). The Sprites default's final pick became
# `windows` in the thirty-seventh session, so the README's preset tables (made with the whole-video pick) no
# longer show what `streamt1 evaluate` does; best-of-n is the preset whose videos change most (the pick is its
# whole method). One call each, nothing to carry:
#   CALL=R5  bash benchmarks/logs/sprites_2026-12-06_thirtyeighth/calls.sh   (~540 s) every preset at 5 s
#   CALL=S   bash benchmarks/logs/sprites_2026-12-06_thirtyeighth/calls.sh   (~480 s) the thirty-sixth session's
#            scaling run (Stream-T1 and beam at 4 x 4, best-of-n 16) beside best-of-n at 30 s
#   CALL=R30 bash benchmarks/logs/sprites_2026-12-06_thirtyeighth/calls.sh   (~560 s) Stream-T1 and beam at 30 s
# Reported split: prompts 0-31 (5 s, 81 frames) or 0-15 (30 s, 480 frames) x seeds 0-3, the defaults of this
# commit (weights RO2, committed rewards, final_score windows). No default changes on these runs; they
# replace the README's tables. Merge and pair on the CPU (see benchmarks/README.md, thirty-eighth session).
set -uo pipefail
P=benchmarks/logs/sprites_2026-12-05_thirtyfifth/presets.sh
ALL="none best-of-n beam stream-t1 stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking"
case ${CALL:?CALL=R5, S or R30} in
  R5) METHODS=$ALL LIMIT=${LIMIT:-540} REP=runs/W5 bash $P ;;
  S) METHODS=best-of-n FRAMES=480 PROMPTS=16 LIMIT=${LIMIT:-470} REP=runs/W30bon bash $P &
     LIMIT=${LIMIT:-470} bash benchmarks/logs/sprites_2026-12-05_thirtysixth/scaling.sh &
     wait ;;
  R30) METHODS="stream-t1 beam" FRAMES=480 PROMPTS=16 LIMIT=${LIMIT:-560} REP=runs/W30 bash $P ;;
  *) echo "CALL=$CALL: expected R5, S or R30" >&2; exit 2 ;;
esac
