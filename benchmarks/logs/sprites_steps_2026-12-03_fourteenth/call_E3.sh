#!/usr/bin/env bash
# Call E3: the committed weights' sampling (8 Euler steps per chunk, 32 on the first) vs S4b (4 steps
# 1000,700,400,150 per later chunk, the first chunk split 8x = 32): reported split, 5 s, seeds 0, 1,
# plain generation and Stream-T1.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
nvidia-smi --query-gpu=name --format=csv,noheader
W=src/streamt1/sprites/weights
mkdir -p runs/S4b runs/rep3
cp $W/* runs/S4b/
python3 - <<'PY'
import json
p = "runs/S4b/sprites_model.json"
c = json.load(open(p)); c["stream_config"].update(denoising_steps=[1000.0, 700.0, 400.0, 150.0], first_chunk_substeps=8)
json.dump(c, open(p, "w"), indent=1)
PY
E="python3 -m streamt1 evaluate --num-prompts 32 --num-frames 81 --no-videos --device cuda"
for s in 0 1; do
  for m in none stream-t1; do
    $E --methods $m --seeds $s --out runs/rep3/G-$m-$s > runs/rep3/G-$m-$s.log 2>&1 &
    $E --methods $m --seeds $s --weights runs/S4b --out runs/rep3/S4b-$m-$s > runs/rep3/S4b-$m-$s.log 2>&1 &
  done
done
wait
tail -n 2 runs/rep3/*.log
tar czf $OUT/e3.tgz runs/rep3
