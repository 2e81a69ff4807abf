"""Where the engine's host time goes in one search of the full-size causal Wan2.1 (a diagnostic).

Builds the generator of ``wan_gpu.py`` (random 1.3B weights, 832x480, stand-in codec and rewards),
optionally compiled, warms it up, then runs one search of ``--method`` under cProfile (the top
functions by own time, and the engine's functions by cumulative time) and, when ``line_profiler`` is
installed, once more line by line through ``StreamSearch.run`` and ``StreamSearch._expand``. Each run
also prints ``wan_gpu.search_overhead``'s phases. Profilers slow the host: compare phases within one
output, not with ``wan_gpu.py``'s timed rows.

    PYTHONPATH=src python benchmarks/engine_profile_gpu.py --frames 21 --compile
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

import torch

import wan_gpu
from streamt1.search.beam import StreamSearch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--method", default="stream-t1")
    p.add_argument("--frames", type=int, default=21, help="latent frames of the profiled search")
    p.add_argument("--warmups", type=int, default=2, help="warm-up searches per method (12 latent frames)")
    p.add_argument("--compile", action="store_true", help="the blocks through torch.compile (run.compile)")
    p.add_argument("--tiny", action="store_true", help="tiny-test model on the CPU (checks the script)")
    args = p.parse_args()
    device = torch.device("cpu" if args.tiny else "cuda")
    generator = wan_gpu.build_generator(args.tiny, device)
    generator.set_attention("auto")
    if args.compile:
        generator.compile(backend="aot_eager" if args.tiny else "inductor")
    for method in ("none", args.method):
        for _ in range(args.warmups):
            wan_gpu.measure(generator, method, 4 * generator.stream.chunk_frames, seed=0)

    profile = cProfile.Profile()
    profile.enable()
    row = wan_gpu.measure(generator, args.method, args.frames, seed=1)
    profile.disable()
    print(f"phases (s): {row.overhead}; engine total {row.engine_s:.3f} s")
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats("beam.py|noise.py|pool.py|steps.py|clips.py|trace.py", 20)
    try:
        from line_profiler import LineProfiler
    except ImportError:
        print("line_profiler is not installed: no line-by-line profile")
        return
    lines = LineProfiler(StreamSearch.run.__wrapped__, StreamSearch._expand)
    lines.enable_by_count()
    row = wan_gpu.measure(generator, args.method, args.frames, seed=1)
    lines.disable_by_count()
    print(f"phases (s): {row.overhead}; engine total {row.engine_s:.3f} s")
    lines.print_stats(output_unit=1e-3)


if __name__ == "__main__":
    main()
