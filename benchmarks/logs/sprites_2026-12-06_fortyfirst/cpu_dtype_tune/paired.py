"""CPU bf16 minus CPU float32, plain generation on the tuning prompts 32-63, seed 5, 96 frames (forty-first session):

    python benchmarks/logs/sprites_2026-12-06_fortyfirst/cpu_dtype_tune/paired.py

Made with ``OMP_NUM_THREADS=1 python benchmarks/sprites_tuning.py --num-prompts 32 --offset 32 --num-frames 96
--seed 5 --label DTYPE --out FOLDER --set run.dtype=DTYPE`` for DTYPE float32 and bfloat16, side by side.
"""
import json
from pathlib import Path

from streamt1.metrics.stats import paired_difference

here = Path(__file__).parent
runs = {d: json.loads((here / f"{d}.json").read_text())["scores"] for d in ("float32", "bfloat16")}
print("bfloat16 - float32, 32 videos (points, 95 %):")
for metric, values in runs["float32"].items():
    e = paired_difference({i: 100 * v for i, v in enumerate(runs["bfloat16"][metric])},
                          {i: 100 * v for i, v in enumerate(values)})
    print(f"  {metric:24s} float32 {100 * sum(values) / len(values):5.1f}  {e.mean:+.1f} ± {e.half_width:.1f}")
