"""Paired differences of the context-noise probe's runs against ctx0 (same prompts and seed), points, 95 %:
    python benchmarks/logs/sprites_2026-12-05_thirtythird/ctxnoise/paired.py LABEL..."""
import json
import sys
from pathlib import Path

from streamt1.metrics.stats import paired_difference

here = Path(__file__).parent
base = json.loads((here / "ctx0.json").read_text())["scores"]
for label in sys.argv[1:]:
    run = json.loads((here / f"{label}.json").read_text())["scores"]
    cells = []
    for key in ("subject_consistency", "background_consistency", "imaging_quality", "text_alignment",
                "alignment_background", "alignment_presence", "alignment_shape", "alignment_motion"):
        d = paired_difference(dict(enumerate(run[key])), dict(enumerate(base[key])))
        cells.append(f"{key.replace('alignment_', '')} {100 * d.mean:+.1f} ± {100 * d.half_width:.1f}")
    print(f"{label} - ctx0 ({len(run['text_alignment'])} videos): " + ", ".join(cells))
