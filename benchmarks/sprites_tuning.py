"""A preset (plain generation by default) of a Sprites model on a tuning split, with its ground-truth metrics and a picture.

    python benchmarks/sprites_tuning.py --weights DIR [--label NAME] [--out DIR] [--steps N | --timesteps T,T,...]
        [--shift S] [--first-chunk-substeps K] [--guidance-scale W] [--guided-chunks N]
        [--method PRESET] [--set KEY=VALUE ...] [--baseline OTHER_LABEL.json]

Prompts ``offset ... offset + num_prompts - 1`` of the held-out list (offset 32: never the 32 that
`streamt1 evaluate` reports), one seed, the preset ``--method`` (default ``none``) with the rewards under
``--weights`` and the config overrides ``--set`` (e.g. ``search.transition_threshold=1``), so search
settings are chosen on these prompts and reported on the others. Prints the mean of every metric of
:func:`streamt1.metrics.sprites.evaluate_video`; writes ``<label>.png``: for the first 6 prompts the
world's render of the caption above the model's video, at frames 0, 2, 8, 16, 24, 32 and the last,
and ``<label>.json``: every prompt's metrics (for paired comparisons of two runs on the same prompts).
Beside the metrics, ``imaging_vs_render``: the distance of the video's imaging quality from that of the
world's render of its caption. Imaging quality depends on what is drawn (renders of the tuning captions
score 92.5, redrawn as all circles 2.3 points less, as all crosses 1.5 more: benchmarks/README.md,
twenty-sixth session), so a model that draws other shapes moves it without drawing worse; the distance
from the render does not reward that.
``--baseline`` (a ``<label>.json`` of an earlier run on the same prompts and seed) also prints the
paired differences against it with 95 % intervals. Used to compare candidate weights, sampling
schedules or search settings before a full evaluation. The model runs in float32 on every device (the
stored tuning runs were made so), unless ``--set run.dtype=bfloat16`` (or float16) names another.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from PIL import Image

from streamt1 import api
from streamt1.config import build_config
from streamt1.devices import resolve_device
from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import evaluate_video, imaging_quality
from streamt1.metrics.stats import paired_difference
from streamt1.search.beam import StreamSearch
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.model import SpritesVideoModel, build_generator
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR
from streamt1.sprites.world import render

PICTURE_PROMPTS = 6
PICTURE_FRAMES = (0, 2, 8, 16, 24, 32)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    p.add_argument("--label", default="weights")
    p.add_argument("--out", default=".")
    p.add_argument("--num-prompts", type=int, default=16)
    p.add_argument("--offset", type=int, default=32)
    p.add_argument("--num-frames", type=int, default=48)
    p.add_argument("--seed", type=int, default=5)
    steps = p.add_mutually_exclusive_group()
    steps.add_argument("--steps", type=int, default=None,
                       help="Euler steps evenly spaced from t=1000 (default: the model's own, 8 for Sprites)")
    steps.add_argument("--timesteps", default=None,
                       help="explicit Euler timesteps, comma-separated, from 1000 down (instead of --steps)")
    p.add_argument("--shift", type=float, default=None, help="timestep shift (default: the model's own, 2)")
    p.add_argument("--baseline", default=None, help="<label>.json of an earlier run: print paired differences")
    p.add_argument("--first-chunk-substeps", type=int, default=None,
                   help="split each step of the first chunk in this many (default: the model's own)")
    p.add_argument("--guidance-scale", type=float, default=None,
                   help="classifier-free guidance scale (default: the model's own; 1 = none)")
    p.add_argument("--guided-chunks", type=int, default=None, help="chunks guided from the start (0: all)")
    p.add_argument("--method", default="none", help="the preset to run (`streamt1 methods`)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, repeatable (e.g. search.transition_threshold=1)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (the GPU where there is one)")
    args = p.parse_args(argv)
    device = str(resolve_device(args.device, "--device"))
    sampler = {} if args.steps is None else {
        "denoising_steps": tuple(int(round(1000 - i * 1000 / args.steps)) for i in range(args.steps))}
    if args.timesteps is not None:
        sampler["denoising_steps"] = tuple(float(t) for t in args.timesteps.split(","))
    if args.shift is not None:
        sampler["shift"] = args.shift
    for name in ("first_chunk_substeps", "guidance_scale", "guided_chunks"):
        if getattr(args, name) is not None:
            sampler[name] = getattr(args, name)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    config = build_config(args.method, None, args.set, num_frames=args.num_frames, weights=args.weights,
                          device=device, backend="sprites")
    # the search owns global_sink (as in api.load_components); the flags above own the sampler
    stream = {"global_sink": config.search.global_sink, **config.run.stream_overrides, **sampler}
    dtype = torch.float32 if config.run.dtype == "auto" else getattr(torch, config.run.dtype)
    generator = build_generator(SpritesVideoModel.from_pretrained(args.weights), stream, device=device, dtype=dtype)
    rewards = {kind: plan.load() for kind, plan in api.plan_rewards(config).items()}
    search = StreamSearch(generator, config.search, rewards.get("image"), rewards.get("video"), method=args.method,
                          settings={})
    prompts = eval_prompts(args.offset + args.num_prompts, args.num_frames)[args.offset:]
    scores: dict[str, list[float]] = {}
    render_quality = []  # imaging quality of the world's render of each caption
    rows, start = [], time.time()
    for j, prompt in enumerate(prompts):
        frames = search.run(prompt, args.num_frames, args.seed, progress=False).frames
        for name, value in evaluate_video(frames.float() / 255, prompt).items():
            scores.setdefault(name, []).append(value)
        # scored as the videos are, in 8 bits (the float render scores within 2e-4 of it)
        world = (render(parse_caption(prompt, args.num_frames), len(frames)).clamp(0, 1) * 255).round().to(torch.uint8)
        render_quality.append(imaging_quality(world.float() / 255))
        scores.setdefault("imaging_vs_render", []).append(abs(scores["imaging_quality"][-1] - render_quality[-1]))
        if j < PICTURE_PROMPTS:
            index = [i for i in PICTURE_FRAMES if i < len(frames)] + [len(frames) - 1]
            rows += [torch.cat([world[i] for i in index], 2), torch.cat([frames[i] for i in index], 2)]
    (Path(args.out) / f"{args.label}.json").write_text(json.dumps({"prompts": prompts, "seed": args.seed, "scores": scores}))
    mean = {name: round(sum(v) / len(v), 3) for name, v in scores.items()}
    print(args.label, f"{time.time() - start:.0f}s", json.dumps(mean), flush=True)
    if args.baseline is not None:
        base = json.loads(Path(args.baseline).read_text())
        if (base["prompts"], base["seed"]) != (prompts, args.seed):
            raise SystemExit(f"--baseline {args.baseline} was run on other prompts or another seed")
        if "imaging_vs_render" not in base["scores"]:  # a run from before the distance was stored
            base["scores"]["imaging_vs_render"] = [abs(q - r) for q, r in zip(base["scores"]["imaging_quality"],
                                                                              render_quality)]
        diffs = {k: paired_difference(dict(enumerate(scores[k])), dict(enumerate(base["scores"][k])))
                 for k in scores}
        print(f"{args.label} - {args.baseline} (points, 95 %):",
              ", ".join(f"{k} {100 * d.mean:+.1f} ± {100 * d.half_width:.1f}" for k, d in diffs.items()))
    picture = torch.cat(rows, 1).permute(1, 2, 0).numpy()
    Image.fromarray(picture).resize((picture.shape[1] * 2, picture.shape[0] * 2), Image.NEAREST).save(
        Path(args.out) / f"{args.label}.png")


if __name__ == "__main__":
    main()
