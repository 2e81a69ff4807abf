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
#   WEIGHTS=DIR     Sprites weights folder for every evaluate process (default: the built-in ones)
#   REWARDS=DIR     image and video rewards from DIR (default: those of the weights)
#   SET="KEY=VALUE ..."  config overrides for every evaluate process (not the oracle), e.g.
#                   SET=search.max_sink_frames=15: the paper's sink instead of the Sprites backend's 6
#   ORACLE_PROMPTS=0 skips the oracle (its scoring is CPU work: ~11 s per 81-frame Stream-T1 video)
# The 30 s setting (480 latent frames) in one call, in its own ROOT (a folder of other settings is refused):
#   ROOT=runs/eval-gpu-30s PROMPTS=8 SEEDS="0 1 2 3" FRAMES=480 ABLATIONS= ORACLE_PROMPTS=0
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
COMMON="--num-frames $FRAMES --device $DEVICE${WEIGHTS:+ --weights $WEIGHTS}"
REWARD_FLAGS=${REWARDS:+--image-reward sprites-image=$REWARDS --video-reward sprites-video=$REWARDS}
SET_FLAGS=
for setting in ${SET:-}; do SET_FLAGS+=" --set $setting"; done
mkdir -p "$ROOT/logs" "$OUT"

for method in $MAIN; do
  for seed in $SEEDS; do
    timeout "$LIMIT" $PY -m streamt1 evaluate --methods "$method" --num-prompts "$PROMPTS" --seeds "$seed" $COMMON \
      $REWARD_FLAGS $SET_FLAGS --no-videos --out "$ROOT/learned/$method-$seed" > "$ROOT/logs/$method-$seed.log" 2>&1 &
  done
done
for method in $ABLATIONS; do
  timeout "$LIMIT" $PY -m streamt1 evaluate --methods "$method" --num-prompts "$PROMPTS" --seeds "$ALL_SEEDS" $COMMON \
    $REWARD_FLAGS $SET_FLAGS --no-videos --out "$ROOT/learned/$method" > "$ROOT/logs/$method.log" 2>&1 &
done
for seed in $( ((ORACLE_PROMPTS > 0)) && echo $SEEDS ); do
  timeout "$LIMIT" $PY benchmarks/sprites_oracle.py --methods none,stream-t1 --num-prompts "$ORACLE_PROMPTS" \
    --seeds "$seed" $COMMON --out "$ROOT/oracle/$seed" > "$ROOT/logs/oracle-$seed.log" 2>&1 &
done
wait  # every process, whatever its exit status (one stopped by LIMIT keeps its finished videos in results.json)

# Folders to merge: those whose process wrote a results.json (one that failed before its first video,
# e.g. on a bad preset name or a folder of other settings, wrote none; its log says why). Only the
# folders this call made, and only their methods: older folders and tables under $ROOT stay out.
add() {  # add METHOD FOLDER
  if [[ -f $2/results.json ]]; then
    folders+=("$2")
    [[ ,$methods, == *",$1,"* ]] || methods+=${methods:+,}$1
  else
    echo "not merged: $2 has no results.json (see $ROOT/logs)" >&2
  fi
}
merge() {  # merge NAME PROMPTS: the folders added so far into $ROOT/NAME-all, its table to $OUT/NAME_table.md
  if ((${#folders[@]} == 0)); then
    echo "no $1 results to merge: every process failed before its first video (see $ROOT/logs)" >&2
    return 1
  fi
  $PY -m streamt1 evaluate --merge "${folders[@]}" --out "$ROOT/$1-all" --methods "$methods" \
    --num-prompts "$2" --seeds "$ALL_SEEDS" --num-frames "$FRAMES"
  cp "$ROOT/$1-all/table.md" "$OUT/${1}_table.md"
  tables+=("$OUT/${1}_table.md")
}

tables=() folders=() methods=
for method in $MAIN; do
  for seed in $SEEDS; do add "$method" "$ROOT/learned/$method-$seed"; done
done
for method in $ABLATIONS; do add "$method" "$ROOT/learned/$method"; done
merge learned "$PROMPTS"
if ((ORACLE_PROMPTS > 0)); then
  folders=() methods=
  for seed in $SEEDS; do add none,stream-t1 "$ROOT/oracle/$seed"; done
  merge oracle "$ORACLE_PROMPTS"
fi
tail -n 2 "$ROOT"/logs/*.log > "$OUT/logs_tail.txt" || true
cat "${tables[@]}"
