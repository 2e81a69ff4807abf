"""Where a Sprites training step's time goes (twenty-third session, one H200): P4's recipe from P4,
with the loader's wait, the loss (forward), backward and the optimizer + EMA timed apart over 60 steps
after 20 of warm-up, then the CUDA kernels of 10 steps by total time.

    python benchmarks/logs/sprites_2026-12-04_twentythird/step_profile.py [--attention sdpa|flex] [--compile] [--batch-size N]
"""
import argparse
import time
from functools import partial

import torch

from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR
from streamt1.sprites.train import TrainVideoConfig, _autocast, _batches, flow_loss, sample_item
from streamt1.sprites.training import SampleStream, sample_loader, update_ema

p = argparse.ArgumentParser()
p.add_argument("--attention", default="flex")
p.add_argument("--workers", type=int, default=14)
p.add_argument("--batch-size", type=int, default=64)
p.add_argument("--compile", action="store_true", help="compiled blocks (CausalWan.compile_blocks), as train --compile")
args = p.parse_args()
device = torch.device("cuda")
config = TrainVideoConfig(batch_size=args.batch_size, reuse=4, workers=args.workers, motion_weight=4, first_chunk_copies=4,
                          caption_dropout=0.1, event_share=0.25, attention=args.attention)
model = SpritesVideoModel.from_pretrained(DEFAULT_WEIGHTS_DIR).to(device).train()
ema = SpritesVideoModel.from_pretrained(DEFAULT_WEIGHTS_DIR).to(device).eval().requires_grad_(False)
if args.compile:
    model.transformer.compile_blocks()
trained = [q for q in model.parameters() if q.requires_grad]
opt = torch.optim.AdamW(trained, lr=1e-5)
loader = sample_loader(SampleStream(partial(sample_item, config=config), 0), config.batch_size, config.workers, device)
batches = _batches(loader, config, device)
gen = torch.Generator(device=device).manual_seed(0)
phases = {"data": 0.0, "forward": 0.0, "backward": 0.0, "optimizer+ema": 0.0}


def step(timed: bool) -> None:
    def mark(name, t0):
        if timed:
            torch.cuda.synchronize()
            phases[name] += time.perf_counter() - t0
        return time.perf_counter()
    t = time.perf_counter()
    batch = next(batches)  # on the device already (_batches)
    t = mark("data", t)
    with _autocast(device):
        loss = flow_loss(model, batch, config, gen)
    t = mark("forward", t)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    t = mark("backward", t)
    torch.nn.utils.clip_grad_norm_(trained, 1.0)
    opt.step()
    update_ema(ema, model, 0.999)
    loss.item()
    mark("optimizer+ema", t)


for _ in range(20):
    step(False)
torch.cuda.synchronize()
t0 = time.perf_counter()
for _ in range(40):
    step(True)
total = time.perf_counter() - t0
print(f"attention {args.attention}{', compiled blocks' if args.compile else ''}, batch {args.batch_size}: {40 / total:.2f} steps/s; per step, ms: "
      + ", ".join(f"{k} {v / 40 * 1e3:.1f}" for k, v in phases.items()))
from torch.profiler import ProfilerActivity, profile  # noqa: E402
with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
    for _ in range(10):
        step(False)
    torch.cuda.synchronize()
print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=18, max_name_column_width=60))
