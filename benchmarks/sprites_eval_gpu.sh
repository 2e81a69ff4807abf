#!/usr/bin/env bash
# The Sprites evaluation (issue 9, item 4) on one GPU machine: every preset in its own process (the
# main four split by seed), the learned rewards and the ground-truth oracle (benchmarks/sprites_oracle.py),
# then `streamt1 evaluate --merge` into one table each. Each process stops after LIMIT seconds; what it
# finished is kept (results.json is written after every video) and the merged table notes missing videos.
#
#   bash benchmarks/sprites_eval_gpu.sh        # from the repository root; results under $ROOT, tables to $OUT
#
# Settings (environment): PROMPTS=32 SEEDS="0 1" FRAMES=81 ORACLE_PROMPTS=16 LIMIT=530 DEVICE=cuda
#   ROOT=runs/eval-gpu OUT=$ROOT  MAIN="none best-of-n beam stream-t1" (one process per seed)
#   ABLATIONS="stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking" (one process each)
#   ORACLE_PROMPTS=0 skips the oracle (its scoring is CPU work: ~11 s per 81-frame Stream-T1 video)
# The 30 s setting (480 latent frames) in one call: PROMPTS=8 SEEDS="0 1 2 3" FRAMES=480 ABLATIONS= ORACLE_PROMPTS=0
# A CPU check of the script: DEVICE=cpu PROMPTS=1 ORACLE_PROMPTS=1 FRAMES=6 LIMIT=300 bash benchmarks/sprites_eval_gpu.sh
set -euo pipefail
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
PROMPTS=${PROMPTS:-32} SEEDS=${SEEDS:-0 1} FRAMES=${FRAMES:-81} ORACLE_PROMPTS=${ORACLE_PROMPTS:-16}
LIMIT=${LIMIT:-530} DEVICE=${DEVICE:-cuda} ROOT=${ROOT:-runs/eval-gpu}
MAIN=${MAIN:-none best-of-n beam stream-t1}
ABLATIONS=${ABLATIONS-stream-t1-early stream-t1-no-noise stream-t1-no-pruning stream-t1-no-sinking}
OUT=${OUT:-$ROOT}
ALL_SEEDS=$(echo $SEEDS | tr ' ' ',')
COMMON="--num-frames $FRAMES --device $DEVICE"
mkdir -p "$ROOT/logs" "$OUT"

for method in $MAIN; do
  for seed in $SEEDS; do
    timeout "$LIMIT" $PY -m streamt1 evaluate --methods "$method" --num-prompts "$PROMPTS" --seeds "$seed" $COMMON \
      --no-videos --out "$ROOT/learned/$method-$seed" > "$ROOT/logs/$method-$seed.log" 2>&1 &
  done
done
for method in $ABLATIONS; do
  timeout "$LIMIT" $PY -m streamt1 evaluate --methods "$method" --num-prompts "$PROMPTS" --seeds "$ALL_SEEDS" $COMMON \
    --no-videos --out "$ROOT/learned/$method" > "$ROOT/logs/$method.log" 2>&1 &
done
for seed in $( ((ORACLE_PROMPTS > 0)) && echo $SEEDS ); do
  timeout "$LIMIT" $PY benchmarks/sprites_oracle.py --methods none,stream-t1 --num-prompts "$ORACLE_PROMPTS" \
    --seeds "$seed" $COMMON --out "$ROOT/oracle/$seed" > "$ROOT/logs/oracle-$seed.log" 2>&1 &
done
wait || true  # a process stopped by LIMIT exits non-zero; its finished videos are in its results.json

methods=$(echo none $MAIN $ABLATIONS | tr ' ' '\n' | awk '!seen[$0]++' | paste -sd, -)
$PY -m streamt1 evaluate --merge "$ROOT"/learned/* --out "$ROOT/learned-all" --methods "$methods" \
  --num-prompts "$PROMPTS" --seeds "$ALL_SEEDS"
cp "$ROOT/learned-all/table.md" "$OUT/learned_table.md"
if ((ORACLE_PROMPTS > 0)); then
  $PY -m streamt1 evaluate --merge "$ROOT"/oracle/* --out "$ROOT/oracle-all" --methods none,stream-t1 \
    --num-prompts "$ORACLE_PROMPTS" --seeds "$ALL_SEEDS"
  cp "$ROOT/oracle-all/table.md" "$OUT/oracle_table.md"
fi
tail -n 2 "$ROOT"/logs/*.log > "$OUT/logs_tail.txt" || true
cat "$OUT"/*_table.md
