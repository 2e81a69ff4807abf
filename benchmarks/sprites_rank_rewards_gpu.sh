#!/usr/bin/env bash
# Rewards that rank the model's own candidates (issue 9, item 2), on one GPU machine (16 CPU cores).
#
#   bash benchmarks/sprites_rank_rewards_gpu.sh train     # record + fine-tune, one call (~9 of its 10 min)
#   bash benchmarks/sprites_rank_rewards_gpu.sh rounds    # ROUNDS x (record with the current rewards, fine-tune)
#   bash benchmarks/sprites_rank_rewards_gpu.sh measure   # held-out sibling agreement (needs TUNED)
#
# Run from the repository root; writes under $OUT. The recording (several GB) stays in $RECORD,
# which does not outlive the machine, so recording and fine-tuning share one call.
# Settings (environment):
#   WEIGHTS         generator folder (default: the built-in Sprites model)
#   REWARDS         rewards to search with while recording and to start from (default: built in)
#   TUNED           measure: folder(s) of fine-tuned rewards (train's $OUT/rewards, carried back), space-separated
#   SHARDS=12 RECORD_MINUTES=4.5 TUNE_MINUTES=3 NUM_SCENES=6000 RECORD=runs/siblings
#   PROMPTS=16 SEEDS=0,1   measure: held-out prompts 33.. (offset 32, the tuning split) and seeds
#   FRAMES=33 DEVICE=cuda WORKERS=12 TUNE_ARGS=   (more rank_rewards flags, e.g. "--lr 1e-4 --recent-frames 3")
#   TUNE_ARGS_B=    a second fine-tune with these flags, beside the first, into $OUT/rewards_b (each gets
#                   half the WORKERS)
#   ROUNDS=2        rounds: round r records with round r-1's rewards (round 1: REWARDS) into $RECORD/round<r>,
#                   then fine-tunes them on every round's recording so far into $OUT/round<r>; the "before"
#                   on round r's own recording is the agreement of the rewards that drove that search (the
#                   issue's measure, on train-split tuning scenes), except where TUNE_ARGS changes the video
#                   reward's plan (--recent-frames): round 1's search used REWARDS' own plan. Each round takes
#                   RECORD_MINUTES + TUNE_MINUTES + ~1 min: RECORD_MINUTES=1.7 TUNE_MINUTES=1.5 fit two rounds
#                   into one 10-minute call. Round folders must be new (a rerun's shards refuse a folder
#                   recorded with other rewards, and the call fails).
# A CPU check of the script: DEVICE=cpu FRAMES=9 SHARDS=2 NUM_SCENES=8 WORKERS=0 PROMPTS=1 SEEDS=0
#   TUNE_ARGS="--groups-per-batch 4 --synthetic-batch 8 --eval-batches 1 --eval-every 5 --log-every 5"
set -euo pipefail
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
REWARDS=${REWARDS:-src/streamt1/sprites/weights}
WEIGHTS_FLAG=${WEIGHTS:+--weights $WEIGHTS}
RECORD=${RECORD:-runs/siblings}
mkdir -p "$OUT"

record() {  # record DIR REWARDS
  local pids=() failed=0
  mkdir -p "$1" runs/sibling_logs
  for i in $(seq 0 $((${SHARDS:-12} - 1))); do
    $PY -m streamt1.sprites.siblings --out "$1" --num-scenes "${NUM_SCENES:-6000}" --num-frames "${FRAMES:-33}" \
      $WEIGHTS_FLAG --reward-weights "$2" --shard "$i" --num-shards "${SHARDS:-12}" \
      --max-minutes "${RECORD_MINUTES:-4.5}" --device "${DEVICE:-cuda}" > "runs/sibling_logs/shard_$i.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  if ((failed)); then tail -n 5 runs/sibling_logs/shard_*.log >&2; echo "recording into $1 failed" >&2; return 1; fi
  { tail -q -n 1 runs/sibling_logs/shard_*.log; ls "$1" | grep -c '^scene-' ; du -sh "$1"; } | tee -a "$OUT/record.log"
}

tune() {  # tune NAME INIT ARGS WORKERS RECORD...
  local name=$1 init=$2 args=$3 workers=$4
  shift 4
  $PY -m streamt1.sprites.rank_rewards --record "$@" --init "$init" --out "$OUT/$name" \
    --device "${DEVICE:-cuda}" --workers "$workers" --max-minutes "${TUNE_MINUTES:-3}" $args > "$OUT/$name.log" 2>&1
}

train() {
  record "$RECORD" "$REWARDS"
  local workers=${WORKERS:-12}
  [[ -z ${TUNE_ARGS_B:-} ]] || workers=$((workers / 2))
  local runs=(rewards) pids=() failed=0
  tune rewards "$REWARDS" "${TUNE_ARGS:-}" "$workers" "$RECORD" & pids+=($!)
  if [[ -n ${TUNE_ARGS_B:-} ]]; then runs+=(rewards_b); tune rewards_b "$REWARDS" "$TUNE_ARGS_B" "$workers" "$RECORD" & pids+=($!); fi
  # `wait PID` returns that run's status (a bare `wait` returns 0), so a failed fine-tune fails the call
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  for run in "${runs[@]}"; do tail -n 30 "$OUT/$run.log"; done
  return $failed
}

rounds() {
  local current=$REWARDS records=()
  for r in $(seq 1 "${ROUNDS:-2}"); do
    echo "round $r: recording with $current"
    record "$RECORD/round$r" "$current"
    records+=("$RECORD/round$r")
    tune "round$r" "$current" "${TUNE_ARGS:-}" "${WORKERS:-12}" "${records[@]}" \
      || { tail -n 50 "$OUT/round$r.log" >&2; echo "fine-tuning round $r failed" >&2; return 1; }
    tail -n 30 "$OUT/round$r.log"
    current=$OUT/round$r
  done
}

measure() {
  : "${TUNED:?set TUNED to the fine-tuned rewards folder}"
  export OMP_NUM_THREADS=3
  local bench="$PY benchmarks/sprites_reward_agreement.py --num-prompts ${PROMPTS:-16} --offset 32"
  bench+=" --seeds ${SEEDS:-0,1} --num-frames ${FRAMES:-33} --device ${DEVICE:-cuda} $WEIGHTS_FLAG"
  $bench --reward-weights "$REWARDS" > "$OUT/committed.txt" 2>&1 &
  $bench --reward-weights "$REWARDS" --set search.fusion=zscore > "$OUT/committed_zscore.txt" 2>&1 &
  local i=0
  for tuned in $TUNED; do
    i=$((i + 1))
    $bench --reward-weights "$tuned" > "$OUT/tuned$i.txt" 2>&1 &
    $bench --reward-weights "$tuned" --set search.fusion=zscore > "$OUT/tuned${i}_zscore.txt" 2>&1 &
  done
  wait
  tail -q -n 1 "$OUT"/committed*.txt "$OUT"/tuned*.txt
}

case "${1:-}" in
  train) train ;;
  rounds) rounds ;;
  measure) measure ;;
  *) echo "usage: $0 train|rounds|measure" >&2; exit 2 ;;
esac
