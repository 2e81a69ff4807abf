#!/usr/bin/env bash
# Test-time scaling on the Sprites world (thirty-sixth session): the three searches at 4x the default
# width, on the reported split at 5 s (prompts 0-31 x seeds 0-3, 81 frames), one GPU call:
#   bash benchmarks/logs/sprites_2026-12-05_thirtysixth/scaling.sh
# Each search is one run of the thirty-fifth session's presets.sh (one `streamt1 evaluate` process per seed,
# its own settings fingerprint, stopped at LIMIT seconds; every finished video is kept and the paired tables
# use the videos both sides finished), side by side, each archived as OUT/<name>.tgz. The default width
# (2 x 2, best-of-n 4) and plain generation are the thirty-fifth session's R5all, same prompts, seeds and
# frames (H100 and H200 give the same Sprites videos). Merge and pair on the CPU: see next.sh.
# A CPU check of the wiring: DEVICE=cpu PROMPTS=1 FRAMES=9 SEEDS=0 LIMIT=120 OUT=runs/scaling-check bash ...
# Stated before the run: this measures how quality moves with compute; no default changes on it (2 x 2 is the
# paper's setting and the CPU budget's).
set -uo pipefail
export LIMIT=${LIMIT:-470} FRAMES=${FRAMES:-81} PROMPTS=${PROMPTS:-32}
P=benchmarks/logs/sprites_2026-12-05_thirtyfifth/presets.sh
METHODS=stream-t1 SET="search.histories=4 search.expansions=4" REP=runs/st1x16 bash $P &
METHODS=beam SET="search.histories=4 search.expansions=4" REP=runs/beamx16 bash $P &
METHODS=best-of-n SET="search.histories=16" REP=runs/bon16 bash $P &
wait
