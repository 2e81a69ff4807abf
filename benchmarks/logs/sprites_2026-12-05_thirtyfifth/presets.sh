#!/usr/bin/env bash
# The presets with the default weights RO2 on the reported split (thirty-fifth session), one GPU call each:
#   5 s, the six presets the thirty-fourth session left (plain and Stream-T1 are in thirtyfourth/RO2/report/all):
#     METHODS="best-of-n beam stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" \
#       LIMIT=450 bash benchmarks/logs/sprites_2026-12-05_thirtyfifth/presets.sh
#   30 s (prompts 0-15 x seeds 0-3, 480 latent frames):
#     METHODS="none best-of-n beam stream-t1" FRAMES=480 PROMPTS=16 LIMIT=540 bash .../presets.sh
#     METHODS="stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" FRAMES=480 PROMPTS=16 ...
# RESUME=FOLDER (a previous call's runs/rep, in the working tree) continues each METHOD-SEED from its results.json.
# SET="KEY=VALUE ..." passes each --set to every process (another settings fingerprint: its own rows).
# REP=runs/rep: the folder of the parts; the archive is named after it (two runs side by side: two REPs).
# One process per method and seed, each stopped at LIMIT seconds (evaluate keeps every finished video; the
# paired tables use the videos both methods finished). Results come back as one archive (the return takes few
# files); merge them on the CPU with `streamt1 evaluate --merge`.
set -uo pipefail
[[ ${DEVICE:-cuda} == cpu ]] || nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
OUTDIR=${OUT:-runs/out}; mkdir -p "$OUTDIR"
REP=${REP:-runs/rep}
rm -rf $REP && mkdir -p $REP
sets=(); for kv in ${SET:-}; do sets+=(--set "$kv"); done
start=$SECONDS
for m in ${METHODS:?name the presets}; do
  for seed in ${SEEDS:-0 1 2 3}; do
    if [[ -f ${RESUME:-/nonexistent}/$m-$seed/results.json ]]; then
      mkdir -p $REP/$m-$seed && cp $RESUME/$m-$seed/results.json $REP/$m-$seed/
    fi
    timeout ${LIMIT:-450} python3 -m streamt1 evaluate --methods $m --seeds $seed --num-prompts ${PROMPTS:-32} \
      --num-frames ${FRAMES:-81} --no-videos --device ${DEVICE:-cuda} "${sets[@]}" \
      --out $REP/$m-$seed > $REP/$m-$seed.log 2>&1 &
  done
done
wait
echo "all processes done after $((SECONDS - start)) s"
tar czf "$OUTDIR/$(basename $REP).tgz" $REP/*/results.json $REP/*.log
grep -H "^| [a-z0-9-]* |\|Error" $REP/*.log | grep -v "^[^|]*| world |" > "$OUTDIR/$(basename $REP)_tail.txt"
cat "$OUTDIR/$(basename $REP)_tail.txt"
