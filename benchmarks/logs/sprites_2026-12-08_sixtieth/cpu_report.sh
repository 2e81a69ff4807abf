#!/usr/bin/env bash
# The reported split on this machine's CPU (no device machine was lent this session): held-out prompts 0-31 x seeds
# 0-3, 81 latent frames, two processes on the 2-core VM, in the dtype `run.dtype: auto` picks (bf16 on a CPU with bf16
# matrix instructions, as this session's VM, and the GPU's dtype; else float32); the same evaluation as the GPU's report stage
# (sprites_candidate_gpu.sh STAGES=report, ../sprites_2026-12-05_thirtyfifth/presets.sh), in one command.
#   NAME=OWRS  WEIGHTS=<OWRS's weights folder> METHODS=none bash .../cpu_report.sh             (8 min)
#   NAME=OWR2S WEIGHTS=runs/OWR2S METHODS=none,stream-t1,best-of-n,beam bash .../cpu_report.sh  (about 80 min)
# A weights folder without reward files uses the built-in rewards. Rerunning resumes (evaluate keeps finished videos).
set -uo pipefail
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1
python3 -m streamt1 evaluate --methods ${METHODS:?} --seeds 0,1,2,3 --num-prompts 32 --num-frames 81 --no-videos \
  --device cpu --workers 2 --weights ${WEIGHTS:?} --out ${DIR:-runs/report-cpu}/${NAME:?}
