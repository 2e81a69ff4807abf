#!/usr/bin/env bash
# Forty-eighth session's GPU calls (CALL=NAME bash .../calls.sh on the device machine), written before each ran.
# The ablations A5, A30 and A30r ran from ../sprites_2026-12-06_fortysixth/calls.sh (README.md here).
#   CALL=E30   early pruning (stream-t1-early) at 30 s, the one preset never run at 30 s with SP50: reported
#              prompts 0-15 x seeds 0-3, 480 latent frames, one process per seed, bf16, with this session's last
#              device time (it stops at LIMIT; every finished video is kept).
#   CALL=E30r  the same resumed from E30's parts (carry them into the tree at E30/runs/E30), next session;
#              repeat with RESUME at the newest parts until every process finishes its 16 prompts.
#   E30 did not run this session: the try answered "no device machine could be started right now" (about 180 s of
#   the budget spent on it) and the kind offered next was an H200, while R30all's Stream-T1 ran on an H100; run
#   E30 (then E30r) on an H100 (kind nvidia-h100-x1) next session.
#   Forty-ninth session: E30 ran with the session's last 240 s (`LIMIT=240 CALL=E30`, one H100): 7 videos (prompts
#   0-1 of seeds 0, 2, 3, prompt 0 of seed 1); the parts are in E30/runs/E30, from which E30r resumes. At ~2 videos
#   per process in 240 s, the 64 videos need about three more calls at LIMIT=540.
#   Fifty-first session (one H100): CALL=E30r (541 s), then, with its parts carried at E30r/runs/E30r,
#   `LIMIT=330 RESUME=$L/E30r/runs/E30r CALL=E30r` (324 s): all 64 videos. Logs in E30r/ and E30r2/; the
#   videos' scores merged in E30all/ (the parts' results.json are left out).
# Reading (not a rule: early pruning is an efficiency variant, not an ablation of a unit): its paired difference
# against Stream-T1 over the videos both have (../sprites_2026-12-06_fortyfifth/R30all), as at 5 s
# (A5/paired_ablations_vs_stream_t1.txt: text alignment +2.5 +- 1.7, shape +3.7 +- 1.8).
set -uo pipefail
P=benchmarks/logs/sprites_2026-12-05_thirtyfifth/presets.sh
L=benchmarks/logs/sprites_2026-12-07_fortyeighth
case ${CALL:?} in
  E30) METHODS="stream-t1-early" FRAMES=480 PROMPTS=16 LIMIT=${LIMIT:-430} REP=runs/E30 bash $P ;;
  E30r) METHODS="stream-t1-early" FRAMES=480 PROMPTS=16 LIMIT=${LIMIT:-540} RESUME=${RESUME:-$L/E30/runs/E30} \
          REP=runs/E30r bash $P ;;
  *) echo "CALL=$CALL: E30 or E30r" >&2; exit 2 ;;
esac
