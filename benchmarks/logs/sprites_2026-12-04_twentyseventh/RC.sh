#!/usr/bin/env bash
# Twenty-seventh session (no device lent): the rewards fine-tuned on M2's own candidates, at CPU scale.
# The committed rewards were tuned on P4's candidates and agree with the truth on 0.536 of M2's held-out
# sibling pairs (twenty-sixth session, agreement_M2_cpu.txt; shape-dominated pairs 0.506). The recipe is
# the twenty-fourth session's (RW.sh: lr 3e-5, --recent-frames 3, the step kept by the tuning scenes'
# agreement), at a quarter of its batch (8 sibling groups and 16 synthetic clips a step: one step of the
# full batch takes ~45 s on this 2-core machine) on the 90 train-split scenes of M2 recorded on the CPU
# (runs/sibM2: 54 in the twenty-sixth session, 36 more in this one, same command with --num-scenes 6000).
#   PHASE=train bash benchmarks/logs/sprites_2026-12-04_twentyseventh/RC.sh
#   PHASE=committed bash .../RC.sh   # Stream-T1 with the committed rewards, beside the fine-tune
#   PHASE=check bash benchmarks/logs/sprites_2026-12-04_twentyseventh/RC.sh
# Decision written before the runs (RW.sh's rule): a fine-tune that keeps a step > 0 is checked on held-out
# prompts (tuning split, prompts 32-47, seeds 0, 1, 33 frames: sibling agreement of real search runs, each
# rewards' own search judged by both) and adopted only if that agreement is above the committed rewards'
# and Stream-T1 on the tuning split (prompts 32-63, seed 5, 96 frames) is not worse than with the committed
# rewards beyond noise on any ground-truth metric.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${THREADS:-1}
D=benchmarks/logs/sprites_2026-12-04_twentyseventh/RC
W=src/streamt1/sprites/weights
mkdir -p $D
T="python3 benchmarks/sprites_tuning.py --num-prompts 32 --num-frames 96 --method stream-t1 --out $D/tune"
if [[ ${PHASE:?} == committed ]]; then  # needs no fine-tune: run beside it (PHASE=check then skips it)
  mkdir -p $D/tune && $T --label st1-committed > $D/tune/committed.log 2>&1
  exit
fi
if [[ $PHASE == train ]]; then
  python3 -m streamt1.sprites.rank_rewards --record runs/sibM2 --out runs/rc1 --device cpu --workers 0 --lr 3e-5 \
    --recent-frames 3 --groups-per-batch 8 --synthetic-batch 16 --eval-every 40 --log-every 20 \
    --max-minutes ${MINUTES:-35} > $D/rank_rewards.log 2>&1
  python3 -c "
import json; s = json.load(open('runs/rc1/rank_rewards.json'))
print('kept', s['kept_step'], 'groups', s['groups'], 'checks', [(c['step'], c['tuning_fused']) for c in s['tuning_checks']])"
  exit
fi
mkdir -p runs/rcbest $D/agree $D/tune
cp $W/sprites_model.* runs/rcbest/ && cp runs/rc1/image_reward.* runs/rc1/video_reward.* runs/rc1/rank_rewards.json runs/rcbest/
A="python3 benchmarks/sprites_reward_agreement.py --num-prompts 16 --offset 32 --seeds 0,1 --num-frames 33 --device cpu"
$A --judge tuned=runs/rcbest > $D/agree/committed.txt 2>&1 &
$A --reward-weights runs/rcbest --judge committed=$W > $D/agree/tuned.txt 2>&1 &
wait
[[ -f $D/tune/st1-committed.json ]] || $T --label st1-committed > $D/tune/committed.log 2>&1 &
$T --weights runs/rcbest --label st1-tuned > $D/tune/tuned.log 2>&1 &
wait
