"""Memory sinking's routes in Stream-T1 traces at 30 s (CPU, twenty-ninth session; 24 videos, about 40 min
on 2 cores, 3.2 min a video in each of two processes):

    E="streamt1 evaluate --num-prompts 6 --seeds 0 --num-frames 480 --no-videos --traces --device cpu"
    OMP_NUM_THREADS=1 $E --methods stream-t1 --out runs/sink30/stream-t1
    OMP_NUM_THREADS=1 $E --methods stream-t1-no-sinking --out runs/sink30/stream-t1-no-sinking
    OMP_NUM_THREADS=1 $E --methods stream-t1 --set search.ema_decay=1.0 --out runs/sink30/noema
    OMP_NUM_THREADS=1 $E --methods stream-t1 --set search.max_sink_frames=3 --out runs/sink30/sink3
    python benchmarks/logs/sprites_2026-12-05_twentyninth/sink_routes.py runs/sink30
    python benchmarks/sprites_weights_paired.py --also imaging_quality st1=runs/sink30/stream-t1:stream-t1 \
        noema=runs/sink30/noema:stream-t1 sink3=runs/sink30/sink3:stream-t1 \
        nosink=runs/sink30/stream-t1-no-sinking:stream-t1-no-sinking

Per trace: how often each history's leaving chunk was discarded, EMA-blended into the sink or appended
to it, and the sink's size (latent frames) at chunks 10, 40, 80 and the last.
"""
import collections
import json
import sys
from pathlib import Path

for trace_path in sorted(Path(sys.argv[1]).glob("*/*/*.trace.json")):
    chunks = json.loads(trace_path.read_text())["chunks"]
    routes = collections.Counter(h["route"] or "none (window not full)" for c in chunks for h in c["histories"])
    sinks = [max(h["sink_frames"] for h in c["histories"]) for c in chunks]
    at = [i for i in (10, 40, 80, len(chunks) - 1) if i < len(chunks)]
    print(f"{trace_path.parent.parent.name:22s} {trace_path.name[:44]:44s} routes {dict(routes)}; sink frames at chunks "
          f"{', '.join(f'{i}: {sinks[i]}' for i in at)}")
