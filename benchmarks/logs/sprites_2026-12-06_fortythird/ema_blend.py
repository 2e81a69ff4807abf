"""Is OW's blur the EMA's blend with OF2? Plain videos of the weights OF2 + a * (OW - OF2) on tuning prompts
(CPU, float32): a = 1 is OW; a > 1 extrapolates away from OF2 (after OW's 600 steps the EMA, decay 0.999,
still holds 0.999^600 = 55 % of OF2's weights, so the trained direction alone is near a = 1 / 0.45 = 2.2).
If the blend blurs, sharpness recovers beyond a = 1; if the trained direction blurs, it keeps falling.

    python benchmarks/logs/sprites_2026-12-06_fortythird/ema_blend.py OF2_WEIGHTS OW_WEIGHTS [--alphas 0.5,1,1.5,2.2]
        [--num-prompts 8] [--offset 32] [--seed 5] [--num-frames 96]
"""
import argparse
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).parent))
from imaging_parts import parts  # noqa: E402

from streamt1.config import build_config  # noqa: E402
from streamt1.evaluate import eval_prompts  # noqa: E402
from streamt1.metrics.sprites import evaluate_video  # noqa: E402
from streamt1.metrics.stats import paired_difference  # noqa: E402
from streamt1.search.beam import StreamSearch  # noqa: E402
from streamt1.sprites.model import SpritesVideoModel, build_generator  # noqa: E402


def scores(model: SpritesVideoModel, weights: str, prompts: list[str], frames: int, seed: int) -> list[dict]:
    config = build_config("none", None, [], num_frames=frames, weights=weights, device="cpu", backend="sprites")
    stream = {"global_sink": config.search.global_sink, **config.run.stream_overrides}
    search = StreamSearch(build_generator(model, stream), config.search, None, None, method="none", settings={})
    out = []
    for prompt in prompts:
        video = search.run(prompt, frames, seed, progress=False).frames
        metrics = evaluate_video(video.float() / 255, prompt)
        out.append({**parts(video), "shape": metrics["alignment_shape"], "text_alignment": metrics["text_alignment"]})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("base")
    p.add_argument("candidate")
    p.add_argument("--alphas", default="0.5,1,1.5,2.2")
    p.add_argument("--num-prompts", type=int, default=8)
    p.add_argument("--offset", type=int, default=32)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--num-frames", type=int, default=96)
    args = p.parse_args()
    prompts = eval_prompts(args.offset + args.num_prompts, args.num_frames)[args.offset:]
    base = SpritesVideoModel.from_pretrained(args.base)
    start = {k: v.clone() for k, v in base.state_dict().items()}
    trained = SpritesVideoModel.from_pretrained(args.candidate).state_dict()
    reference = scores(base, args.base, prompts, args.num_frames, args.seed)
    keys = ("imaging", "sharpness", "shape", "text_alignment")
    print(f"OF2 + a (OW - OF2) minus OF2, plain, prompts {args.offset}-{args.offset + args.num_prompts - 1}, "
          f"seed {args.seed}, {args.num_frames} frames, CPU float32 (points, 95 %); OF2: "
          + ", ".join(f"{k} {100 * sum(r[k] for r in reference) / len(reference):.1f}" for k in keys), flush=True)
    for alpha in (float(a) for a in args.alphas.split(",")):
        blended = {k: (v + alpha * (trained[k] - v) if v.is_floating_point() else v) for k, v in start.items()}
        base.load_state_dict(blended)
        got = scores(base, args.base, prompts, args.num_frames, args.seed)
        diffs = {k: paired_difference({i: g[k] for i, g in enumerate(got)}, {i: r[k] for i, r in enumerate(reference)})
                 for k in keys}
        print(f"  a = {alpha:<4}", "  ".join(f"{k} {100 * d.mean:+5.1f} ± {100 * d.half_width:.1f}"
                                            for k, d in diffs.items()), flush=True)


if __name__ == "__main__":
    main()
