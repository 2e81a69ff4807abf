#!/usr/bin/env bash
# Forty-second session, written after OF's result and before OF2's run. OF (OF.sh) drew the captioned shape
# more often (tuning split, 96 videos, OF - RO2: shape +5.1 ± 2.7, subject consistency +3.3 ± 2.6; its first
# chunk from the caption alone 61.0 % on the eval split, RO2 35.5 %) but lost motion (-9.2 ± 6.0): its targets
# kept the model's own sprite centres in every frame, and the model's first chunks barely move, so they taught
# the first chunk to stand still. OF2's targets start each sprite where the drawing first shows it and move it
# on as the caption's trajectory does (own_states.drawn_centres). Otherwise OF's recipe, with 4,096 own first
# chunks (OF's 8,192 took 153 s to draw, which came out of the call's time), 5 min from RO2.
# Rule: OF's (OF.sh), against RO2's tuning runs: shape, text alignment or presence above RO2's with the 95 %
# interval excluding 0, no other ground-truth metric below RO2's beyond noise by more than 0.5 points.
#   bash benchmarks/logs/sprites_2026-12-06_fortysecond/OF2.sh        (one call, ~560 s on an H100)
# Judge on the CPU:
#   python benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py OF2 FOLDER/tune RO2 sprites_2026-12-05_thirtyfourth/RO2/tune
# RECIPE and BASE pinned to the values the script ran with (sprites_candidate_gpu.sh's defaults became OF2's after it)
RO2_RECIPE="--event-share 0.25 --misdrawn-first-share 0.25 --rollout-share 0.25 --lr 3e-4 --batch-size 64 --reuse 4 --motion-weight 4 --first-chunk-copies 4 --caption-dropout 0.1"
RECIPE="$RO2_RECIPE" BASE=benchmarks/logs/sprites_2026-12-05_thirtyfourth/RO2/tune BASE_NAME=RO2 NAME=OF2 MIN=5.0 LIMIT=190 FLAGS="--own-first-share 0.5 --own-first-scenes 4096" bash benchmarks/sprites_candidate_gpu.sh
