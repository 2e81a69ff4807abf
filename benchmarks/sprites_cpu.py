"""Wall time of the built-in Sprites default on the CPU: plain generation vs Stream-T1, side by side.

Budget (issue "Sprites world"): 10 s of video at 16 fps on a 2-core CPU, plain generation <= 15 s,
Stream-T1 with K=2, M=2 <= 60 s, rewards included. Each method runs the whole search (denoise,
decode, rewards, commit, final pick) on the same prompt and seed after one warm-up run; model
loading is timed apart.

    python benchmarks/sprites_cpu.py                       # 162 latent frames (10.1 s), 2 threads
    python benchmarks/sprites_cpu.py --methods none,beam,stream-t1 --repeats 3
    python benchmarks/sprites_cpu.py --methods none,stream-t1,stream-t1+first_chunk_candidates=16   # a preset
                                                           # with search settings changed (PRESET+key=value)
    python benchmarks/sprites_cpu.py --compile both        # eager and torch.compile'd blocks, side by side
    python benchmarks/sprites_cpu.py --dtypes float32,bfloat16   # the generator in each dtype, side by side
    python benchmarks/sprites_cpu.py --set run.denoising_steps=[1000,700,400,150] --set run.first_chunk_substeps=8
    python benchmarks/sprites_cpu.py --variant "" --variant "run.guided_chunks=0 run.guidance_sigmas=[0.6,0.85]"
                                                           # generator settings side by side (each variant: its
                                                           # own generator; "": the defaults)

With ``--compile`` the blocks run through inductor (``run.compile``); the warm-up run then includes
the compilation, printed apart (a new process compiles again, in seconds where inductor's
on-disk cache already holds the graphs, in about half a minute where it does not).
"""

from __future__ import annotations

import argparse
import time
from statistics import median

import torch

from streamt1 import api
from streamt1.config import build_config, shared_overrides

PROMPT = "a small red circle moves left over a blue background"


def method_config(method: str, overrides: list[str], weights: str | None, num_frames: int):
    """A preset, optionally with search settings of its own (``stream-t1+first_chunk_candidates=16``), and
    the ``--set`` items every method takes (plain generation keeps the search settings its preset pins)."""
    name, *changes = method.split("+")
    return build_config(name, None, [*shared_overrides(name, overrides), *(f"search.{c}" for c in changes)],
                        weights=weights, device="cpu", num_frames=num_frames)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", default="none,stream-t1")
    parser.add_argument("--num-frames", type=int, default=162, help="latent frames (= frames here)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--weights", default=None, help="Sprites weights folder (default: built-in)")
    parser.add_argument("--compile", choices=("off", "on", "both"), default="off",
                        help="torch.compile the blocks (run.compile): off, on, or both side by side")
    parser.add_argument("--dtypes", default="auto",
                        help="the generator's run.dtype, comma-separated for several side by side (auto: bf16 on a "
                             "CPU with bf16 matrix instructions, else float32)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config override for every run, as in `streamt1 generate --set` (plain generation "
                             "keeps the search settings its preset pins)")
    parser.add_argument("--variant", dest="variants", action="append", default=None, metavar="'KEY=VALUE ...'",
                        help="a set of overrides (space-separated) loaded into a generator of its own; repeat for "
                             "several side by side (\"\": the defaults)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    methods = [m.strip() for m in args.methods.split(",")]

    dtypes = [d.strip() for d in args.dtypes.split(",")]
    variants = args.variants or [""]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; overrides {args.overrides}")
    rows = []
    for dtype, variant in [(d, v) for d in dtypes for v in variants]:
        overrides = [*args.overrides, *variant.split(), f"run.dtype={dtype}"]
        if len(variants) > 1:
            print(f"variant {variant or '(defaults)'}")
        start = time.perf_counter()
        components = api.load_components(build_config("stream-t1", None, overrides, weights=args.weights,
                                                      device="cpu"))
        ran_as = str(components.generator.model.dtype).removeprefix("torch.")
        print(f"run.dtype={dtype} ({ran_as}): model + rewards loaded in {time.perf_counter() - start:.2f} s")
        fps = components.generator.spec.fps
        seconds = components.generator.spec.decoded_frames(args.num_frames // 3) / fps
        for compiled in {"off": (False,), "on": (True,), "both": (False, True)}[args.compile]:
            if compiled:  # compiled in place: every later run with these components uses the compiled blocks
                components.generator.compile()
            for method in methods:
                config = method_config(method, overrides, args.weights, args.num_frames)
                search = api.make_search(config, components)
                t0 = time.perf_counter()
                search.run(PROMPT, 9, 0, progress=False)  # warm-up (and compilation)
                warm = time.perf_counter() - t0
                times = []
                for repeat in range(args.repeats):
                    t0 = time.perf_counter()
                    search.run(PROMPT, args.num_frames, repeat, progress=False)
                    times.append(time.perf_counter() - t0)
                label = (method + (" (compiled)" if compiled else "") + (f" ({ran_as})" if len(dtypes) > 1 else "")
                         + (f" [{variant or 'defaults'}]" if len(variants) > 1 else ""))
                rows.append((label, config.search.candidates_per_chunk, median(times), warm))
    print(f"video: {args.num_frames} latent frames = {seconds:.1f} s at {fps:g} fps\n")

    base = rows[0][2]
    print(f"| method | candidates/chunk | wall s | x {rows[0][0]} | video s per wall s | warm-up s |")
    print("|---|---|---|---|---|---|")
    for method, candidates, wall, warm in rows:
        print(f"| {method} | {candidates} | {wall:.2f} | {wall / base:.2f} | {seconds / wall:.2f} | {warm:.1f} |")


if __name__ == "__main__":
    main()
