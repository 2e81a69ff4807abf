#!/usr/bin/env bash
# The presets with the default weights RO2 on the reported split (thirty-fifth session), one GPU call each:
#   5 s, the six presets the thirty-fourth session left (plain and Stream-T1 are in thirtyfourth/RO2/report/all):
#     METHODS="best-of-n beam stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" \
#       LIMIT=450 bash benchmarks/logs/sprites_2026-12-05_thirtyfifth/presets.sh
#   30 s (prompts 0-15 x seeds 0-3, 480 latent frames):
#     METHODS="none best-of-n beam stream-t1" FRAMES=480 PROMPTS=16 LIMIT=540 bash .../presets.sh
#     METHODS="stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" FRAMES=480 PROMPTS=16 ...
# RESUME=FOLDER (a previous call's runs/rep, in the working tree) continues each METHOD-SEED from its results.json.
# One process per method and seed, each stopped at LIMIT seconds (evaluate keeps every finished video; the
# paired tables use the videos both methods finished). Results come back as one archive (the return takes few
# files); merge them on the CPU with `streamt1 evaluate --merge`.
set -uo pipefail
[[ ${DEVICE:-cuda} == cpu ]] || nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
OUTDIR=${OUT:-runs/out}; mkdir -p "$OUTDIR"
rm -rf runs/rep && mkdir -p runs/rep
start=$SECONDS
for m in ${METHODS:?name the presets}; do
  for seed in ${SEEDS:-0 1 2 3}; do
    if [[ -f ${RESUME:-/nonexistent}/$m-$seed/results.json ]]; then
      mkdir -p runs/rep/$m-$seed && cp $RESUME/$m-$seed/results.json runs/rep/$m-$seed/
    fi
    timeout ${LIMIT:-450} python3 -m streamt1 evaluate --methods $m --seeds $seed --num-prompts ${PROMPTS:-32} \
      --num-frames ${FRAMES:-81} --no-videos --device ${DEVICE:-cuda} \
      --out runs/rep/$m-$seed > runs/rep/$m-$seed.log 2>&1 &
  done
done
wait
echo "all processes done after $((SECONDS - start)) s"
tar czf "$OUTDIR/rep.tgz" runs/rep/*/results.json runs/rep/*.log
grep -H "^| [a-z0-9-]* |\|Error" runs/rep/*.log | grep -v "^[^|]*| world |" > "$OUTDIR/logs_tail.txt"
cat "$OUTDIR/logs_tail.txt"
