#!/usr/bin/env bash
# Forty-sixth session's GPU calls (CALL=NAME bash .../calls.sh on the device machine), written before each ran.
# The weights SP50 were committed this session (rule: CALL=SPR in ../sprites_2026-12-06_fortyfifth/calls.sh).
#   CALL=R30c  ran this session (316 s, one H100): Stream-T1, beam and best-of-n at 30 s resumed from the
#              fortyfifth CALL=R30b parts (carried in the tree at fortyfifth/R30b/runs/R30b); every part
#              finished its 16 prompts. Its parts are in ../sprites_2026-12-06_fortyfifth/R30c/.
# Planned for the next session (not run: this session's device time was spent), in this order:
#   CALL=GBR   SP50 with guidance on every chunk in the noise band 0.6-0.85 (SP50gb: passed the tuning split and
#              the CPU budget, README.md here) on the reported split, plain, Stream-T1, best-of-n and beam, as
#              CALL=SPR ran SP50 (prompts 0-31 x seeds 0-3, 81 latent frames, one process per method and seed,
#              bf16). Rule (written before the call): make the band the Sprites model's own sampling setting
#              (stream_config: guided_chunks 0, guidance_sigmas [0.6, 0.85]) only if its plain generation is worse
#              than SP50's (../sprites_2026-12-06_fortyfifth/SPR/all, same GPU kind and dtype) beyond noise by
#              more than 0.5 points on no ground-truth metric (imaging read as imaging_vs_render, with
#              sprites_weights_paired.py --also imaging_vs_render) and Stream-T1 still beats
#              its plain generation beyond noise on subject consistency and text alignment. If adopted, the
#              ablations below run with it.
#   CALL=A5    the four ablations with SP50 on the reported split, 5 s (prompts 0-31 x seeds 0-3, 81 latent
#              frames), one process per preset and seed; merged on the CPU with fortyfifth/SPR/all (plain,
#              best-of-n, beam, Stream-T1).
#   Forty-seventh session: GBR's rule passed on the CPU (plain and Stream-T1, while no device could be started),
#   then GBR ran on an H100 (LIMIT=380, 375 s, every process finished) and the rule failed there: plain
#   subject consistency -2.6 +- 1.7 (../sprites_2026-12-06_fortyseventh/README.md). The band is not adopted;
#   A5, A30 and A30r run with SP50's own sampling.
#   The CUDA tests ride along in GBR (their log comes back as cuda_tests.log; this session fixed the one
#   that failed, test_beam.py's device test, whose count of final-pick calls predated search.final_score
#   windows, and could not rerun it).
#   CALL=A30   the three ablations at 30 s (prompts 0-15 x seeds 0-3, 480 latent frames) from the start;
#   CALL=A30r  the same resumed from A30's parts (carry them into the tree at A30/runs/A30).
# Rule for the ablations (issue 9, the forty-third session's, unchanged): each ablation should be below the
# full method on the metric its unit targets: reward pruning and noise propagation on subject consistency
# and text alignment, memory sinking on subject and background consistency. Judged by paired differences
# against Stream-T1 over the videos both finished, 95 % intervals (benchmarks/sprites_weights_paired.py --common).
set -uo pipefail
P=benchmarks/logs/sprites_2026-12-05_thirtyfifth/presets.sh
F=benchmarks/logs/sprites_2026-12-06_fortyfifth
tests() {  # the CUDA tests (the image lacks diffusers and PyAV: those modules fail to collect, the rest run)
  PYTHONPATH=$PWD/src python3 -m pytest -o addopts="" -q -p no:logging -k cuda --continue-on-collection-errors tests \
    > ${OUT:-runs/out}/cuda_tests.log 2>&1; tail -n 2 ${OUT:-runs/out}/cuda_tests.log
}
case ${CALL:?} in
  GBR) tests &
       # SP50's plain generation with its own sampling (first chunk guided only) as a control on the same
       # machine (SPR ran on an H100; this call may get an H200). Both settings are spelled out: the call ran
       # (forty-seventh session, LIMIT=380) while the band was briefly the weights' own setting.
       METHODS="none" LIMIT=${LIMIT:-420} REP=runs/GBR0 SET="run.guided_chunks=1 run.guidance_sigmas=[0,1]" bash $P &
       METHODS="none stream-t1 best-of-n beam" LIMIT=${LIMIT:-420} REP=runs/GBR \
         SET="run.guided_chunks=0 run.guidance_sigmas=[0.6,0.85]" bash $P
       wait ;;
  R30c) METHODS="stream-t1 beam best-of-n" FRAMES=480 PROMPTS=16 LIMIT=${LIMIT:-480} RESUME=$F/R30b/runs/R30b \
          REP=runs/R30c bash $P ;;
  A5) METHODS="stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" LIMIT=${LIMIT:-520} \
        REP=runs/A5 bash $P ;;
  A30) METHODS="stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" FRAMES=480 PROMPTS=16 \
         LIMIT=${LIMIT:-540} REP=runs/A30 bash $P ;;
  A30r) METHODS="stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" FRAMES=480 PROMPTS=16 \
          LIMIT=${LIMIT:-540} RESUME=benchmarks/logs/sprites_2026-12-06_fortysixth/A30/runs/A30 REP=runs/A30r bash $P ;;
  *) echo "CALL=$CALL: GBR, R30c, A5, A30 or A30r" >&2; exit 2 ;;
esac
