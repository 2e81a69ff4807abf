"""How different are the search's sibling candidates? Stream-T1 with the built-in weights and rewards
on tuning prompts, recording every scored chunk (streamt1.sprites.siblings.SiblingRecorder).

    python benchmarks/logs/sprites_2026-12-05_thirtysecond/sibling_spread.py --eta 0 --offset 32 --num-prompts 16 --seed 5

Prints, per prompt and over all, the share of scored chunks whose candidates' fused ground truth
(the truth the rewards are judged by) spreads by more than 0.02 (the agreement's minimum gap), apart
for the first chunk, chunks 1-2 and later ones, and the mean spread. ``--eta E`` (a probe, not a
setting of the tool: it patches the generator's sampler call) mixes fresh noise into every Euler
step of the later chunks, as run.first_chunk_eta does for the first: does per-step noise make the
later candidates differ?
"""

from __future__ import annotations

import argparse

import streamt1.models.generator as generator_module
from streamt1 import api
from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.sprites.siblings import SiblingRecorder

GAP = 0.02
PARTS = (("chunk 0", lambda i: i == 0), ("chunks 1-2", lambda i: 1 <= i <= 2), ("later", lambda i: i > 2))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--eta", type=float, default=0.0)
    p.add_argument("--offset", type=int, default=32)
    p.add_argument("--num-prompts", type=int, default=16)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--num-frames", type=int, default=96)
    args = p.parse_args()
    run = build_config("stream-t1", None, [], num_frames=args.num_frames, device="cpu", backend="sprites")
    components = api.load_components(run)
    later_timesteps = components.generator.timesteps
    sample_steps = generator_module.sample_steps

    def with_eta(predict, x, timesteps, num_train, draw, sampler, start, stop, eta):
        if timesteps is later_timesteps:
            eta = args.eta
        return sample_steps(predict, x, timesteps, num_train, draw, sampler, start, stop, eta)

    generator_module.sample_steps = with_eta
    search = SiblingRecorder(components.generator, run.search, components.image_reward, components.video_reward,
                             method=run.method)
    prompts = eval_prompts(args.offset + args.num_prompts, args.num_frames)[args.offset:]
    totals = {name: [0, 0, 0.0] for name, _ in PARTS}
    for j, prompt in enumerate(prompts):
        search.groups = []
        search.run(prompt, args.num_frames, seed=args.seed, progress=False)
        row = []
        for name, keep in PARTS:
            spreads = [float(g.video_truth().max() - g.video_truth().min()) for g in search.groups if keep(g.chunk_index)]
            wide = sum(s > GAP for s in spreads)
            totals[name][0] += wide
            totals[name][1] += len(spreads)
            totals[name][2] += sum(spreads)
            row.append(f"{name} {wide}/{len(spreads)}")
        print(f"prompt {args.offset + j}: chunks with a truth spread > {GAP}: " + ", ".join(row), flush=True)
    print(f"eta {args.eta}, prompts {args.offset}-{args.offset + args.num_prompts - 1}, seed {args.seed}, "
          f"{args.num_frames} frames, over all:")
    for name, (wide, count, total) in totals.items():
        print(f"  {name:10s} spread > {GAP} in {wide}/{count} ({100 * wide / count:.0f} %), mean spread {total / count:.4f}")


if __name__ == "__main__":
    main()
