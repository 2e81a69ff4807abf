#!/usr/bin/env bash
# Call S2: fewer Euler steps for later chunks (G weights), tuning split; first-chunk diagnostics of G.
set -uo pipefail
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
nvidia-smi --query-gpu=name --format=csv,noheader
mkdir -p runs/tune2 runs/diag
T="python3 benchmarks/sprites_tuning.py --num-prompts 32 --num-frames 96 --out runs/tune2"
$T --label S8 > runs/tune2/S8.log 2>&1 &
$T --label S6 --timesteps 1000,833,667,500,333,167 --first-chunk-substeps 5 > runs/tune2/S6.log 2>&1 &
$T --label S5 --timesteps 1000,800,600,400,200 --first-chunk-substeps 6 > runs/tune2/S5.log 2>&1 &
$T --label S4a --timesteps 1000,750,500,250 --first-chunk-substeps 8 > runs/tune2/S4a.log 2>&1 &
$T --label S4b --timesteps 1000,700,400,150 --first-chunk-substeps 8 > runs/tune2/S4b.log 2>&1 &
$T --label S4c --timesteps 1000,750,500,250 --first-chunk-substeps 4 > runs/tune2/S4c.log 2>&1 &
$T --label S3 --timesteps 1000,600,200 --first-chunk-substeps 10 > runs/tune2/S3.log 2>&1 &
for s in train eval; do python3 benchmarks/sprites_first_chunk.py --split $s > runs/diag/G-$s.log 2>&1 & done
wait
cat runs/diag/*.log runs/tune2/*.log | grep -v Warning
tar czf $OUT/s2.tgz runs/tune2 runs/diag/*.log
ls -la $OUT
