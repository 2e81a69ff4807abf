#!/usr/bin/env bash
# Call R1 (nineteenth session): the rewards fine-tuned in two rounds on the candidates of the default
# weights H (issue 9, item 2; the eighth session's recipe, which made the committed rewards on F's
# candidates; the twelfth session's run on G's gained nothing). Writes runs/r1 and packs it into $OUT.
set -uo pipefail
nvidia-smi --query-gpu=name --format=csv,noheader
REAL_OUT=$OUT
mkdir -p runs/r1
OUT=runs/r1 ROUNDS=2 SHARDS=13 RECORD_MINUTES=1.7 TUNE_MINUTES=1.5 \
  TUNE_ARGS="--recent-frames 3 --eval-every 100" RECORD=runs/siblings \
  bash benchmarks/sprites_rank_rewards_gpu.sh rounds > runs/r1/rounds.log 2>&1
echo "rounds rc=$?"
grep -h "agreement\|best\|kept\|round" runs/r1/rounds.log | tail -n 40
tar czf $REAL_OUT/r1.tgz runs/r1
