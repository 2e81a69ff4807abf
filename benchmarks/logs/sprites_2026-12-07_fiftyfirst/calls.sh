#!/usr/bin/env bash
# Fifty-first session's GPU calls for the next session (CALL=NAME bash .../calls.sh on the device machine), written
# before any of them ran. The session's own calls (RW, E30r) are in README.md here.
#
# Why (README.md here): plain generation never starts a straight move. A sprite at the world's speed covers ~1.5 px
# per 3-frame chunk, under half a 4-px latent cell, so one chunk's flow target barely tells it from a still one.
# Paused items (PS) and a weighted restart (RW) changed nothing. FS trains the straight moves faster (new
# --straight-speeds: one multiple of the speed per item, the scenes' own speeds 0.75-1.5, the world's fastest 4), so
# each chunk shows the captioned motion; the motion metric reads direction, not speed.
#
#   CALL=BASE SP50 (the committed weights, copied to runs/SP50gpu) through sprites_candidate_gpu.sh's eval stage on the
#             GPU: the tuning split in float32 on the device that runs the candidates, paired with SP50's stored CPU
#             runs (so the device's own shift is measured), and the probes. About 200 s. Run it first: the
#             candidates' stored baseline ran on the CPU, and GPU and CPU videos differ in detail by up to about a
#             point on some metrics, more than the rules' 0.5-point margin. Commit its tune/ folder as SP50gpu/tune.
#   CALL=FS   FS = SP50 + 5 min of the committed recipe (sprites_candidate_gpu.sh's RECIPE, OF2's) with
#             --own-first-scenes 2048 (for time) --straight-speeds $BAND (default "1.5 2.5"); then, beside each other,
#             the tuning split (prompts 32-63 x seeds 5, 6, 7, 96 frames, plain, float32) paired with SP50's stored
#             CPU runs, the shape over the video, the first chunk, the README prompt, and sprites_motion_start.py for
#             FS and SP50 on the same GPU (sprites_candidate_gpu.sh's train and eval stages). About 480 s.
#             Rule (written before the call): FS goes on to the reported split only if motion or text alignment gains
#             beyond noise on the tuning split and no ground-truth metric is worse beyond noise by more than 0.5
#             points (imaging quality read as imaging_vs_render), judged with
#               python benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py FS FOLDER/tune SP50gpu GPUFOLDER/tune
#             against BASE's GPU runs (GPUFOLDER relative to benchmarks/logs), or against SP50's CPU runs
#             (SP50 sprites_2026-12-06_fortyfifth/SP50/tune) if BASE did not run. That script prints its verdict on
#             shape or text; read motion off its table by the same rule.
#   CALL=FSR  (only if FS passes; carry runs/FS, unpacked from FS's $OUT/FS.tgz) sprites_candidate_gpu.sh's report
#             stage: FS copied over the committed weights; plain, Stream-T1, best-of-n and beam on the reported
#             split (held-out prompts 0-31 x seeds 0-3, 81 latent frames, bf16), as the forty-fifth
#             session's SPR ran SP50. Commit FS only if its plain generation is worse than SP50's
#             (../sprites_2026-12-06_fortyfifth/SPR/all, same GPU kind and dtype) beyond noise by more than 0.5
#             points on no ground-truth metric (imaging quality read as imaging_vs_render) and Stream-T1 still
#             beats FS's plain generation beyond noise on subject consistency and text alignment.
set -uo pipefail
export NAME=FS  # the candidate; sprites_candidate_gpu.sh's default baseline is SP50's tuning runs
case ${CALL:?} in
  FS) MIN=${MIN:-5.0} LIMIT=${LIMIT:-150} FLAGS="--own-first-scenes 2048 --straight-speeds ${BAND:-1.5 2.5}" \
        bash benchmarks/sprites_candidate_gpu.sh ;;
  FSR) STAGES=report bash benchmarks/sprites_candidate_gpu.sh ;;
  BASE) mkdir -p runs/SP50gpu && cp src/streamt1/sprites/weights/sprites_model.* runs/SP50gpu/ &&
          NAME=SP50gpu STAGES=eval LIMIT=${LIMIT:-170} bash benchmarks/sprites_candidate_gpu.sh ;;
  *) echo "CALL=$CALL: BASE, FS or FSR" >&2; exit 2 ;;
esac
