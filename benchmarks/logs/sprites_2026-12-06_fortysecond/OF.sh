#!/usr/bin/env bash
# Forty-second session, written before any run. OF = RO2 (the committed weights) + 4.5 min of RO2's own recipe
# plus the model's own first chunks (`--own-first-share 0.5 --own-first-scenes 8192`,
# streamt1.sprites.own_states): 8,192 first chunks of train-split captions as RO2 samples them, 4 sampler
# states each with sigma in 0.55-0.95, each aimed at the same drawing redrawn right (every sprite where RO2 put
# it, the larger copy where it drew one twice, in its captioned shape and size, over the captioned background).
# Why: from the caption alone the first chunk keeps the captioned shape in 35.5 % of frames on the eval split
# (RO2/first/RO2.log) while a clean context keeps 78.7 %; the misdrawn-first copies train on renders noised
# from other shapes, never on the states the sampler really passes through. On 48 train-split first chunks drawn
# on the CPU (this session) RO2 drew the captioned shape in 49 % of the sprites' frames, and drew at least one
# sprite twice or smeared in about half of the chunks: the repaired targets score 99 % (89 % through the codec).
# The control is RO3 (thirty-sixth session: RO2 + 5 min of the same recipe without own chunks): every
# ground-truth metric within noise of RO2.
# Rule (RO2's and D6's): OF may replace RO2 only if over the 96 tuning videos (prompts 32-63 x seeds 5, 6, 7,
# 96 frames, plain generation, paired with RO2's runs of the thirty-fourth session) its shape, text alignment or
# presence is above RO2's with the 95 % interval excluding 0, and no other ground-truth metric is below RO2's
# beyond noise by more than 0.5 points (imaging quality read as imaging_vs_render, which must not be larger
# beyond noise by more than 0.5 points). The architecture is RO2's, so the CPU budgets hold as RO2's do. An
# adopted OF is then run on the reported split (prompts 0-31 x seeds 0-3) before the README changes.
#   bash benchmarks/logs/sprites_2026-12-06_fortysecond/OF.sh        (one call, ~580 s on an H100)
# Judge on the CPU:
#   python benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py OF FOLDER/tune
# RECIPE and BASE pinned to the values the script ran with (sprites_candidate_gpu.sh's defaults became OF2's after it)
RO2_RECIPE="--event-share 0.25 --misdrawn-first-share 0.25 --rollout-share 0.25 --lr 3e-4 --batch-size 64 --reuse 4 --motion-weight 4 --first-chunk-copies 4 --caption-dropout 0.1"
RECIPE="$RO2_RECIPE" BASE=benchmarks/logs/sprites_2026-12-05_thirtyfourth/RO2/tune BASE_NAME=RO2 NAME=OF MIN=4.5 LIMIT=200 FLAGS="--own-first-share 0.5 --own-first-scenes 8192" bash benchmarks/sprites_candidate_gpu.sh
