"""Where plain generation's CPU time goes: the README prompt, 162 frames, 2 threads, one warm-up,
one timed run, then one under torch.profiler (operators by own time).

    python benchmarks/logs/sprites_2026-12-04_twentythird/cpu_profile.py
"""
import time

import torch
from torch.profiler import ProfilerActivity, profile

from streamt1 import api
from streamt1.config import build_config

PROMPT = "a small red circle moves left over a blue background"
torch.set_num_threads(2)
config = build_config("none", None, [], weights=None, device="cpu", num_frames=162)
search = api.make_search(config, api.load_components(config))
search.run(PROMPT, 30, 0, progress=False)
start = time.perf_counter()
search.run(PROMPT, 162, 0, progress=False)
print(f"wall {time.perf_counter() - start:.2f} s")
with profile(activities=[ProfilerActivity.CPU]) as prof:
    search.run(PROMPT, 162, 0, progress=False)
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))
