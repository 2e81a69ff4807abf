"""Fifty-seventh session: guidance toward what the sink adds, after the model's own first chunk (CPU).

    python benchmarks/logs/sprites_2026-12-07_fiftyseventh/sink_guidance.py SCENES CHUNKS W[,W...]

One-sprite held-out scenes (seed 11), the first chunk from plain generation, then CHUNKS chunks continued from it;
at each step the flow is f + w * (f - f_nosink), f_nosink the flow with the sink masked out (only once the sink
has left the window). Shape match by chunk and the video's ground truth.
"""
import sys, torch
sys.path.insert(0, "benchmarks")
from sprites_shape_over_time import one_sprite_scenes, shape_by_chunk
from streamt1 import api
from streamt1.config import build_config
from streamt1.sprites.captions import caption
from streamt1.sprites.model import SpritesVideoModel
from streamt1.models.causal_wan import block_causal_mask
from streamt1.models.sampler import sample_few_step, warp_timesteps
from streamt1.metrics.sprites import evaluate_video
torch.set_num_threads(2)
W = "src/streamt1/sprites/weights"
model = SpritesVideoModel.from_pretrained(W).eval()
N, CH = int(sys.argv[1]), int(sys.argv[2])
scenes = one_sprite_scenes(N, 3 + 3 * CH, seed=11)
caps = [caption(s) for s in scenes]
config = build_config("none", None, [], num_frames=3, device="cpu")
search = api.make_search(config, api.load_components(config))
first = torch.stack([search.run(c, 3, 0, progress=False).frames.float() / 255 for c in caps])

@torch.no_grad()
def cont(context, captions, chunks, seed, w):
    stream = model.stream; n, c = context.shape[0], stream.chunk_frames
    ts = warp_timesteps(stream.denoising_steps, stream.num_train_timesteps, stream.shift)
    latents = model.codec.encode(context)
    text = model.transformer.encode_text(model.text_encoder(captions), 3 + 3 * chunks)
    g = torch.Generator().manual_seed(seed)
    for _ in range(chunks):
        length = latents.shape[2] + c
        mask = block_causal_mask(length, c, stream.sink_frames, stream.window_frames)
        nosink = block_causal_mask(length, c, 0, stream.window_frames)
        pos = torch.arange(length).repeat(n, 1)
        def flow(x, t, past=latents):
            times = torch.cat([torch.zeros(n, past.shape[2]), t.expand(n, c)], 1)
            f = model.transformer(torch.cat([past, x], 2), times, text, pos, mask)[:, :, -c:]
            if w == 0 or torch.equal(mask, nosink): return f
            u = model.transformer(torch.cat([past, x], 2), times, text, pos, nosink)[:, :, -c:]
            return f + w * (f - u)
        noise = torch.randn(latents[:, :, :c].shape, generator=g)
        latents = torch.cat([latents, sample_few_step(flow, noise, ts, stream.num_train_timesteps, None, "euler")], 2)
    return model.codec.decode_chunk(latents, None)[0]

for w in [float(x) for x in sys.argv[3].split(",")]:
    v = cont(first.contiguous(), caps, CH, 0, w).float().clamp(0, 1)
    byc = shape_by_chunk(v, scenes, 3)["all"]
    ev = [evaluate_video(x, s) for x, s in zip(v, scenes)]
    m = lambda k: 100 * sum(e[k] for e in ev) / len(ev)
    print(f"w={w}: shape by chunk", " ".join(f"{100*x:4.0f}" for x in byc),
          f"| shape {m('alignment_shape'):.1f} motion {m('alignment_motion'):.1f} subject {m('subject_consistency'):.1f} presence {m('alignment_presence'):.1f} imaging {m('imaging_quality'):.1f}", flush=True)
