#!/usr/bin/env bash
# Calls of the thirtieth session, one H200 each (written before the calls):
#   CANDIDATE=RO1 bash benchmarks/logs/sprites_2026-12-05_thirtieth/RO.sh   # ~480 s
#   CANDIDATE=C1 bash benchmarks/logs/sprites_2026-12-05_thirtieth/RO.sh    # ~450 s
# RO1 = M2 (the committed weights) + MIN minutes of M2's recipe with --rollout-share 0.25 (new this session):
# in a quarter of each batch the clean context is the model's own redraw of it, chunk by chunk as it streams
# (each chunk noised to a sigma in 0.7-1.0 and denoised in 3 Euler steps after the earlier chunks' redraws;
# train.redrawn_context), while the targets keep the caption's render. On 24 train-split items M2's redraws
# keep the captioned shape in 60.6 % of frames, 1.8 px from the render's sprites (sprites_redraw_shapes.py;
# after the true earlier frames instead, from 0.6-0.95: 88.0 %, too close to the render to teach anything).
# Why: M2 draws the captioned shape in 45.6 % of its first chunk's frames but ~30 % in every later stretch,
# while after clean renders its next chunk keeps the shape in 83 %: later chunks follow the outlines of
# its own context. The misdrawn flags taught correction from made-up errors (other shapes, a size
# smaller) and cost imaging quality (misdrawn-share) or motion (W1, misdrawn-window-share); these items
# show the model the errors it makes itself (issue 9 names Self-Forcing's idea: training on the model's
# own rollouts), with the render's placement and motion kept, so the targets stay right.
# C1 = M2 + MIN minutes of M2's recipe alone: the control W1 lacked (the twenty-ninth session's next.sh),
# which separates a flag's effect from five more minutes of training.
# Both go through benchmarks/sprites_candidate_gpu.sh: after training, plain generation on the tuning split
# (prompts 32-63 x seeds 5, 6, 7, 96 frames) paired with M2's stored runs of call Z2 (same device kind),
# the shape over the video, the first-chunk diagnosis and the README prompt.
# Rule (W.sh's, unchanged): a candidate may replace M2 only if over the 96 tuning videos its shape or text
# alignment is above M2's with the 95 % interval excluding 0 and no ground-truth metric is below M2's
# beyond noise by more than 0.5 points (imaging quality judged by imaging_vs_render). With C1 in hand, a
# flag's effect is also read as candidate - C1 on the same 96 videos (paired_w1.py's numbers, both folders).
# Judge on the CPU: python benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py NAME FOLDER/tune
case ${CANDIDATE:?CANDIDATE must be RO1 or C1} in
  RO1) NAME=RO1 FLAGS="--rollout-share 0.25" MIN=5.0 bash benchmarks/sprites_candidate_gpu.sh ;;
  C1) NAME=C1 FLAGS="" MIN=5.0 bash benchmarks/sprites_candidate_gpu.sh ;;
  *) echo "CANDIDATE must be RO1 or C1" >&2; exit 2 ;;
esac
