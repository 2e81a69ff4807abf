"""Where plain generation's subject consistency is lost with the band: the per-video paired differences
(band minus SP50's own sampling, H100, the reported split's 128 videos), their median and tails.

    python benchmarks/logs/sprites_2026-12-06_fortyseventh/GBR/subject_tail.py
"""
import statistics
import sys
from pathlib import Path

here = Path(__file__).parent
sys.path.insert(0, str(here.parents[3] / "benchmarks"))
from sprites_weights_paired import load_videos  # noqa: E402

own = load_videos([str(here / "old_plain")], "none")
band = load_videos([str(here / "all")], "none")
diffs = sorted((100 * (band[k]["subject_consistency"] - own[k]["subject_consistency"]), k) for k in own)
values = [d for d, _ in diffs]
print(f"{len(values)} videos: mean {statistics.mean(values):+.2f}, median {statistics.median(values):+.2f}; "
      f"{sum(d < -10 for d in values)} lose more than 10 points, {sum(d > 10 for d in values)} gain more than 10")
for d, stem in diffs[:5]:
    print(f"  {d:+.1f}  {stem}")
