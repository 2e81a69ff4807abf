#!/usr/bin/env bash
# Call D4: Stream-T1 with the memory-sinking setting chosen on the tuning split ($SET), on the reported
# split: 5 s (prompts 0-31 x seeds 0-3) and 30 s (prompts 0-7 x seeds 0-3), one process per length and seed.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
nvidia-smi --query-gpu=name --format=csv,noheader
: "${SET:?SET=KEY=VALUE}"
mkdir -p runs/d4
for s in 0 1 2 3; do
  timeout ${LIMIT:-230} python3 -m streamt1 evaluate --methods stream-t1 --num-prompts 32 --seeds $s --num-frames 81 \
    --no-videos --device cuda --set "$SET" --out runs/d4/st1-5s-$s > runs/d4/st1-5s-$s.log 2>&1 &
  timeout ${LIMIT:-230} python3 -m streamt1 evaluate --methods stream-t1 --num-prompts 8 --seeds $s --num-frames 480 \
    --no-videos --device cuda --set "$SET" --out runs/d4/st1-30s-$s > runs/d4/st1-30s-$s.log 2>&1 &
done
wait
tail -q -n 1 runs/d4/*.log | cut -c1-200
tar czf $OUT/d4.tgz runs/d4
