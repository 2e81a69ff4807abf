#!/usr/bin/env bash
# Forty-third session, written after render_denoising.py's result and before any run (planned for the next
# session; not run here). First of the three candidates to run (then OW2, then OW3 if device time is left).
# OW blurred the chunks after the first (imaging_parts.py). render_denoising.py (CPU, 32 rendered train-split
# scenes, the chunks after the first noised after clean rendered context; OW/render_denoising.txt) finds OW's
# x0 predictions as sharp as OF2's at sigma 0.222, 0.4 and 0.545 (-0.1 to -0.2 points) and softer at 0.769
# (-2.3 ± 1.1, pixel error +0.16 ± 0.05): the own-window band (0.55-0.95) taught it to hedge at high noise,
# and its own sampler then reaches the last steps with soft outlines that nothing trained it to sharpen.
# own_steps_sharpness.py (OW/own_steps_sharpness.txt, 16 prompts) shows it along OW's own sampling: its x0
# predictions in the later chunks are -7.6 ± 2.9 points less sharp at sigma 0.933 and still -2.6 ± 1.4 at the
# last step (0.222), where on renders it is as sharp as OF2.
# OW4 keeps the own starts' states down to sigma 0.2 (--own-window-sigmas 0.2 0.95: 7 of the 8 later-chunk
# steps instead of 4), each still aimed at the chunk redrawn right, at OW2's share 0.125, 1,024 starts, 5 min.
# Rule: OW.sh's, against OF2's tuning runs (see OW2.sh). If more than one of OW2, OW3 and OW4 passes, the one
# with the highest text alignment on the 96 tuning videos replaces OF2 (then the reported split, as OW2.sh says).
#   bash benchmarks/logs/sprites_2026-12-06_fortythird/OW4.sh        (one call, ~540 s on an H100)
# Judge on the CPU:
#   python benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py OW4 FOLDER/tune OF2 sprites_2026-12-06_fortysecond/OF2/tune
NAME=OW4 MIN=5.0 LIMIT=170 FLAGS="--own-first-scenes 2048 --own-window-share 0.125 --own-window-scenes 1024 --own-window-frames 48 --own-window-sigmas 0.2 0.95" \
  bash benchmarks/sprites_candidate_gpu.sh
