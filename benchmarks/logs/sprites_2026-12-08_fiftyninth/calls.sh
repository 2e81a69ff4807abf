#!/usr/bin/env bash
# Fifty-ninth session's GPU calls (CALL=NAME bash .../calls.sh on the device machine), written before any ran.
#
# Why: the fifty-eighth session planned OWR3 (OWRS + 4.5 min of the recipe with OW5's own-window flags, soup OWR3S
# halfway; ../sprites_2026-12-07_fiftyeighth/calls.sh, rules there). This session six tries found no machine, which
# left 719 s of device time: not enough for that call (about 530 s) with a machine's start. So the call is split:
#   CALL=OWR3T  the training alone (same flags and minutes as OWR3); its weights come back as OWR3.tgz. About 440 s:
#               the fifty-eighth session's OWR drew its 2048 own first chunks in 19 s and 1024 own starts of videos in
#               72 s before its 270 s of training (../sprites_2026-12-07_fiftyeighth/train.log), plus loading and
#               compiling. Give the call 600 s.
#   Ran once this session (H100, after eight tries without a machine), with timeout_s 420, all the device time that
#   was left once a machine's start is counted: it was stopped at 420 s before the archive of the weights was
#   written, so nothing came back (the estimate of 310 s had left out the drawing of the own states). Next session:
#   `CALL=OWR3T bash benchmarks/logs/sprites_2026-12-08_fiftyninth/calls.sh 2>&1 | grep -v Warning` with timeout_s
#   600, then the CPU steps below (OWRS's CPU runs of the tuning split are stored in OWRS_cpu/).
# Then, here on the CPU, OWR3S = sprites_weight_soup.py --base (the committed OWRS) --other OWR3 --share 0.5, and the
# tuning split (prompts 32-63 x seeds 5-7, 96 frames, float32 as sprites_tuning.py runs) for OWRS and OWR3S side by
# side on this machine's CPU (the stored OWRS runs are the GPU's, and CPU videos differ in detail), with the same
# rule: paired_w1.py adopts OWR3S only if shape or text alignment gains beyond noise and no other ground-truth metric
# is worse beyond noise by more than 0.5 points (imaging quality read as imaging_vs_render).
# The reported split (plain, Stream-T1, best-of-n, beam, bf16, H100) follows on the GPU, carrying runs/OWR3S (the
# tree now fits it): only if the rule adopts, and with the second rule of the fifty-eighth session's calls.sh.
#
# A cheaper way to the same question, found after that call: the tree is now small enough (40.5 MB of the 64 MiB
# upload) to carry a model, and OWR2S (the fifty-eighth session's third round: OWRS + 3.5 min of the same flags,
# soup halfway; it passed the tuning rule there, OWR2S_vs_OWRS.txt) is still on this machine in runs/OWR2S
# (sha256 67e6cbca...95e, its sprites_model.json records the soup). So the next session runs, first:
#   CALL=OWR2SR with carry ["runs/OWR2S"]: the report stage for OWR2S (plain, Stream-T1, best-of-n and beam on
#               prompts 0-31 x seeds 0-3, 81 frames, bf16), on an H100 (kind nvidia-h100-x1: OWRS's report ran
#               on one). About 240 s. Rule, written now (the fifty-eighth session's second rule): OWR2S is committed
#               only if its plain generation is worse than OWRS's (../sprites_2026-12-07_fiftyeighth/OWRSR/all)
#               beyond noise by more than 0.5 points on no ground-truth metric (imaging quality read as
#               imaging_vs_render), and Stream-T1 still beats its plain generation beyond noise on subject
#               consistency and text alignment.
# and OWR3T only with the device time left after it.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
case ${CALL:?} in
  OWR2SR)
    [[ -f runs/OWR2S/sprites_model.safetensors ]] || { echo "carry runs/OWR2S (the call's carry argument)" >&2; exit 2; }
    NAME=OWR2S STAGES=report LIMIT=${LIMIT:-400} bash benchmarks/sprites_candidate_gpu.sh ;;
  OWR3T)
    NAME=OWR3 MIN=${MIN:-4.5} STAGES=train \
      FLAGS=${OWN_FLAGS:-"--own-first-scenes 2048 --own-window-share 0.125 --own-window-scenes 1024 --own-window-frames 48 --own-window-sigmas 0.75 0.95"} \
      bash benchmarks/sprites_candidate_gpu.sh ;;
  *) echo "CALL=$CALL: OWR2SR or OWR3T" >&2; exit 2 ;;
esac
