#!/usr/bin/env bash
# Test-time scaling on the Sprites world (thirty-sixth session): the three searches at 4x the default
# width, on the reported split at 5 s (prompts 0-31 x seeds 0-3, 81 frames), one GPU call:
#   bash benchmarks/logs/sprites_2026-12-05_thirtysixth/scaling.sh
# RUNS: LABEL=PRESET[:KEY=VALUE,KEY=VALUE] entries; each label gets one `streamt1 evaluate` process per seed
# (its own fingerprint, so its own rows), stopped at LIMIT seconds (every finished video is kept; the paired
# tables use the videos both sides finished). The default width (2 x 2, best-of-n 4) and plain generation are
# the thirty-fifth session's R5all, same prompts, seeds and frames (H100 and H200 give the same Sprites videos).
# Results come back as one archive, OUT/scaling.tgz; merge and pair them on the CPU:
#   streamt1 evaluate --merge D/st1x16-*/ --out S/st1x16      (D = the unpacked runs/scaling)
#   python benchmarks/sprites_weights_paired.py x4=benchmarks/logs/sprites_2026-12-05_thirtyfifth/R5all:stream-t1 x16=S/st1x16:stream-t1
# A CPU check of the wiring: DEVICE=cpu PROMPTS=1 FRAMES=9 SEEDS=0 LIMIT=120 OUT=runs/scaling-check bash ...
# Stated before the run: this measures how quality moves with compute; no default changes on it (2 x 2 is the
# paper's setting and the CPU budget's).
set -uo pipefail
[[ ${DEVICE:-cuda} == cpu ]] || nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
OUTDIR=${OUT:-runs/out}; mkdir -p "$OUTDIR"
REP=${REP:-runs/scaling}
rm -rf $REP && mkdir -p $REP
RUNS=${RUNS:-st1x16=stream-t1:search.histories=4,search.expansions=4 beamx16=beam:search.histories=4,search.expansions=4 bon16=best-of-n:search.histories=16}
start=$SECONDS
for run in $RUNS; do
  label=${run%%=*} spec=${run#*=}
  preset=${spec%%:*} overrides=${spec#*:} sets=()
  [[ $spec == *:* ]] || overrides=
  IFS=, read -ra kvs <<< "$overrides"
  for kv in "${kvs[@]}"; do sets+=(--set "$kv"); done
  for seed in ${SEEDS:-0 1 2 3}; do
    timeout ${LIMIT:-480} python3 -m streamt1 evaluate --methods $preset --seeds $seed --num-prompts ${PROMPTS:-32} \
      --num-frames ${FRAMES:-81} --no-videos --device ${DEVICE:-cuda} "${sets[@]}" \
      --out $REP/$label-$seed > $REP/$label-$seed.log 2>&1 &
  done
done
wait
echo "all processes done after $((SECONDS - start)) s"
tar czf "$OUTDIR/$(basename $REP).tgz" $REP/*/results.json $REP/*.log
grep -H "^| [a-z0-9-]* |\|Error\|rror:" $REP/*.log | grep -v "^[^|]*| world |" > "$OUTDIR/$(basename $REP)_tail.txt"
cat "$OUTDIR/$(basename $REP)_tail.txt"
