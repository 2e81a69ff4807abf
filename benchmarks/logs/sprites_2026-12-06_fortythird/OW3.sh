#!/usr/bin/env bash
# Forty-third session, written with OW2.sh and before either ran (planned for the next session; not run here).
# OW3 separates OW2's two changes: OW's own-window share (0.25), but 1,024 starts and 5 min as OF2 was trained,
# so whether OW's blur came from the share or from a short run is told apart.
# Why a short run might blur: the saved weights are the EMA (decay 0.999) started from --init, so after OW's
# 600 steps 0.999^600 = 55 % of them are still OF2's; a blend of two models that draw the later chunks
# differently can draw them softer. After ~900 steps (5 min) 41 % are.
# Rule: OW.sh's, against OF2's tuning runs (see OW2.sh). If OW2 and OW3 both pass, the one with the higher
# text alignment on the 96 tuning videos replaces OF2 (then the reported split, as OW2.sh says).
#   bash benchmarks/logs/sprites_2026-12-06_fortythird/OW3.sh        (one call, ~540 s on an H100)
# Judge on the CPU:
#   python benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py OW3 FOLDER/tune OF2 sprites_2026-12-06_fortysecond/OF2/tune
NAME=OW3 MIN=5.0 LIMIT=170 FLAGS="--own-first-scenes 2048 --own-window-share 0.25 --own-window-scenes 1024 --own-window-frames 48" \
  bash benchmarks/sprites_candidate_gpu.sh
