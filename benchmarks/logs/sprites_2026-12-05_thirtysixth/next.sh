#!/usr/bin/env bash
# Planned GPU call for the next session (written in the thirty-sixth, when no machine could be started for it):
#   bash benchmarks/logs/sprites_2026-12-05_thirtysixth/next.sh        (~480 s, nothing to carry)
# Test-time scaling on the reported split at 5 s: Stream-T1 and beam at 4 x 4 (histories x expansions) and
# best-of-n with 16 videos (about the same generator forwards), prompts 0-31 x seeds 0-3, paired with the
# default width's and plain generation's videos of the thirty-fifth session (R5all; H100 and H200 give the
# same Sprites videos). Why: on the README prompt (CPU, seeds 0-3) Stream-T1 at 4 x 4 moves the sprite left
# on three of four seeds (motion 51.1, 55.6, 97.1, 5.9; readme_wide/) where the default 2 x 2 moves it on
# one (36.4, 0, 0, 0; thirtyfourth/readme_prompt/); the thirty-fourth session found no candidate moving left
# in two thirds of the chunks, so a wider search has more movers to pick from. Stated before the run: this
# measures how quality moves with compute; no default changes on it (2 x 2 is the paper's setting and the
# CPU budget's: 10 s of video in <= 60 s on 2 cores).
# Judge on the CPU (the archives unpacked in the working tree: runs/st1x16, runs/beamx16, runs/bon16):
#   for l in st1x16 beamx16 bon16; do streamt1 evaluate --merge runs/$l/*/ --out M/$l; done
#   R=benchmarks/logs/sprites_2026-12-05_thirtyfifth/R5all
#   python benchmarks/sprites_weights_paired.py --also imaging_quality plain=$R:none x4=$R:stream-t1 x16=M/st1x16:stream-t1
#   python benchmarks/sprites_weights_paired.py --also imaging_quality x16=M/st1x16:stream-t1 beam16=M/beamx16:beam
#   python benchmarks/sprites_weights_paired.py --also imaging_quality x16=M/st1x16:stream-t1 bon16=M/bon16:best-of-n
set -uo pipefail
LIMIT=${LIMIT:-470} bash benchmarks/logs/sprites_2026-12-05_thirtysixth/scaling.sh
