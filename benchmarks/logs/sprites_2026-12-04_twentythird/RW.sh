#!/usr/bin/env bash
# Calls W1, W2 (twenty-third session): the rewards re-tuned on the candidates of the default weights P4
# (adopted in the twenty-second session; the committed rewards were tuned on H's candidates), with the
# nineteenth session's recipe (two rounds, --recent-frames 3), then checked on held-out tuning prompts only.
#   PHASE=rounds bash benchmarks/logs/sprites_2026-12-04_twentythird/RW.sh   # W1: writes runs/w1, packs it into $OUT
#   PHASE=check  bash benchmarks/logs/sprites_2026-12-04_twentythird/RW.sh   # W2: needs runs/w1 (carried)
# Decision written before the runs: adopt round 2 if its held-out sibling agreement on its own search's
# pairs is above the committed rewards' on theirs, and Stream-T1 on the tuning split (prompts 32-63,
# seed 5, 96 frames) is not worse than with the committed rewards beyond noise on any ground-truth
# metric (pairs with benchmarks/logs/sprites_2026-12-04_twentysecond/P4/tune/st1-P4-*.json).
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
if [[ ${PHASE:?} == rounds ]]; then
  REAL_OUT=$OUT
  mkdir -p runs/w1
  OUT=runs/w1 ROUNDS=2 SHARDS=13 RECORD_MINUTES=1.7 TUNE_MINUTES=1.5 \
    TUNE_ARGS="--recent-frames 3 --eval-every 100" RECORD=runs/siblings \
    bash benchmarks/sprites_rank_rewards_gpu.sh rounds > runs/w1/rounds.log 2>&1
  echo "rounds rc=$?"
  grep -h "agreement\|best\|kept\|round" runs/w1/rounds.log | tail -n 40
  tar czf $REAL_OUT/w1.tgz runs/w1
  exit
fi
export OMP_NUM_THREADS=2
B=runs/w1
mkdir -p runs/Wround2 && cp $W/sprites_model.* runs/Wround2/ && cp $B/round2/image_reward.* $B/round2/video_reward.* runs/Wround2/
mkdir -p runs/w2/agree runs/w2/tune runs/w2/readme
A="python3 benchmarks/sprites_reward_agreement.py --num-prompts 16 --offset 32 --seeds 0,1 --num-frames 33 --device cuda"
L=${LIMIT:-170}
timeout $L $A --judge round2=runs/Wround2 > runs/w2/agree/committed.txt 2>&1 &
timeout $L $A --reward-weights runs/Wround2 --judge committed=$W > runs/w2/agree/round2.txt 2>&1 &
T="python3 benchmarks/sprites_tuning.py --num-prompts 16 --num-frames 96 --out runs/w2/tune"
for half in 32 48; do
  timeout $L $T --offset $half --weights runs/Wround2 --method stream-t1 --label st1-round2-$half > runs/w2/tune/r$half.log 2>&1 &
done
timeout $L python3 benchmarks/sprites_readme_prompt.py --weights runs/Wround2 --out runs/w2/readme > runs/w2/readme/round2.log 2>&1 &
wait
for f in runs/w2/agree/*.txt; do echo "== $f"; grep -v Warning $f | tail -n 12; done
grep -hv Warning runs/w2/tune/*.log | cut -c1-400
grep -v Warning runs/w2/readme/round2.log
tar czf $OUT/w2.tgz runs/w2 runs/Wround2/*.json runs/Wround2/image_reward.safetensors runs/Wround2/video_reward.safetensors
