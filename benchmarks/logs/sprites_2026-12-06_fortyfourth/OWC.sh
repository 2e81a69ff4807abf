#!/usr/bin/env bash
# Forty-fourth session, written before any run (planned for the next session; third, after OW6.sh and OW5.sh).
# OWC = OW (forty-third session: OF2 + 3.5 min with --own-window-share 0.25, shape +16.9 ± 4.2, imaging quality
# -1.5 ± 0.6 on the tuning split) + 2.5 min of OF2's own recipe without the own-window term. Five more minutes
# of that recipe from M2 changed nothing beyond noise (C1, thirty-third session: imaging -0.0 ± 0.3), so the
# question is whether the plain teacher-forced data gives back the sharpness (it trains every chunk on
# context and target that agree) while the outline the own starts taught stays.
# OW's weights are not committed (the carried tree's 64 MiB would not hold them): copy runs/OW's
# sprites_model.safetensors and .json over src/streamt1/sprites/weights/ in the working tree before the call
# (runs/OW remakes with `CALL=OW bash benchmarks/logs/sprites_2026-12-06_fortythird/calls.sh`), and
# `git checkout src/streamt1/sprites/weights` after it. INIT is then the tree's weights, OW.
# Rule: as OW5.sh's (OW.sh's, against OF2's tuning runs).
#   bash benchmarks/logs/sprites_2026-12-06_fortyfourth/OWC.sh        (one call, ~480 s on an H100)
# Judge on the CPU:
#   python benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py OWC FOLDER/tune OF2 sprites_2026-12-06_fortysecond/OF2/tune
grep -q '"own_window_share": 0.25' src/streamt1/sprites/weights/sprites_model.json \
  || { echo "copy OW's weights over src/streamt1/sprites/weights first (see the header)" >&2; exit 2; }
NAME=OWC MIN=2.5 LIMIT=170 FLAGS="" bash benchmarks/sprites_candidate_gpu.sh
