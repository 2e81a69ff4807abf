#!/usr/bin/env bash
# Fifty-seventh session's GPU calls (CALL=NAME bash .../calls.sh on the device machine), written before any ran.
#
# Why: shape is the bar furthest away (plain generation 34.8 / 60 on the reported split). The lever that moved it
# most in one fine-tune was training on the model's own starts of videos (own_window_share, OW5, forty-fifth
# session: OF2 + 5 min, shape +13.3 +- 3.8 on the tuning split, but imaging quality's distance from the render
# +1.4 +- 0.6); the committed SP50 is the soup halfway from OF2 to OW5. Its own starts were never drawn: OWR is the
# second round, OW5's recipe from SP50 (own states of SP50), and OWRS the soup halfway from SP50 to OWR, the step
# that passed last time.
#
#   CALL=OWR   OWR = SP50 + 4.5 min of the committed recipe (sprites_candidate_gpu.sh's RECIPE) with OW5's flags
#              (--own-first-scenes 2048 --own-window-share 0.125 --own-window-scenes 1024 --own-window-frames 48
#              --own-window-sigmas 0.75 0.95); OWRS = sprites_weight_soup.py --base SP50 --other OWR --share 0.5;
#              then the eval stage for OWRS against SP50's GPU runs of the fifty-second session (SP50gpu). Its tuning
#              runs are kept in runs/OWRS-tune for CALL=OWRSR. About 560 s.
#              Rule (written before the call), paired_w1.py's: OWRS goes on to the reported split only if shape or
#              text alignment gains beyond noise on the tuning split and no other ground-truth metric is worse beyond
#              noise by more than 0.5 points (imaging quality read as imaging_vs_render):
#                python benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py OWRS FOLDER/tune \
#                  SP50gpu sprites_2026-12-07_fiftysecond/SP50gpu/tune
#              OWRS is also paired with CTRL (fifty-fifth session: SP50 + 3.5 min of the recipe alone), for what a
#              fine-tune of this length gives by itself; that decides nothing.
#   CALL=OWRSR on the same warm machine right after OWR (runs/OWRS there; the weights cannot be carried): only if
#              the rule above printed "adopt" on the device, the report stage: plain, Stream-T1, best-of-n and beam on
#              the reported split (prompts 0-31 x seeds 0-3, 81 frames, bf16). OWRS is committed only if its plain
#              generation is worse than SP50's (the forty-fifth session's SPR, same GPU kind and dtype) beyond noise
#              by more than 0.5 points on no ground-truth metric and Stream-T1 still beats its plain generation beyond
#              noise on subject consistency and text alignment.
#
# Neither call ran this session: four tries found no machine, then the lease said none would be lent for the rest of
# the session. Both stay planned, unchanged, for the next session's first calls.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
W=src/streamt1/sprites/weights
RULE="python3 benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py OWRS runs/OWRS-tune SP50gpu sprites_2026-12-07_fiftysecond/SP50gpu/tune"
case ${CALL:?} in
  OWR)
    NAME=OWR MIN=${MIN:-4.5} STAGES=train \
      FLAGS="--own-first-scenes 2048 --own-window-share 0.125 --own-window-scenes 1024 --own-window-frames 48 --own-window-sigmas 0.75 0.95" \
      bash benchmarks/sprites_candidate_gpu.sh || exit $?
    python3 benchmarks/sprites_weight_soup.py --base $W --other runs/OWR --share 0.5 --out runs/OWRS || exit $?
    NAME=OWRS STAGES=eval LIMIT=${LIMIT:-150} BASE=benchmarks/logs/sprites_2026-12-07_fiftysecond/SP50gpu/tune \
      BASE_NAME=SP50gpu bash benchmarks/sprites_candidate_gpu.sh
    mkdir -p runs/OWRS-tune && tar xzf $OUT/evals_OWRS.tgz -C runs/OWRS-tune --strip-components=1 tune
    $RULE | tee $OUT/OWRS_vs_SP50gpu.txt
    python3 benchmarks/logs/sprites_2026-12-05_twentyninth/paired_w1.py OWRS runs/OWRS-tune CTRL \
      sprites_2026-12-07_fiftyfifth/CTRL/tune | tee $OUT/OWRS_vs_CTRL.txt ;;
  OWRSR)
    [[ -f runs/OWRS/sprites_model.safetensors ]] || { echo "runs/OWRS is not on this machine: run CALL=OWR first" >&2; exit 2; }
    $RULE | grep -q "^rule: adopt" || { echo "OWRS did not pass its tuning rule: no report" >&2; exit 3; }
    NAME=OWRS STAGES=report LIMIT=${LIMIT:-400} bash benchmarks/sprites_candidate_gpu.sh ;;
  *) echo "CALL=$CALL: OWR or OWRSR" >&2; exit 2 ;;
esac
