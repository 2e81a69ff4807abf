"""(Ad-hoc CPU check of the fifteenth session: `PYTHONPATH=src python benchmarks/logs/sprites_shape_2026-12-03_fifteenth/swap_cpu.py` from the repository root.)
Does G use the shape word? One-sprite scenes; finish noised first chunks with the true caption and
with the shape word swapped; shape accuracy vs true / swapped shape."""
import dataclasses, sys, torch
from streamt1.metrics.sprites import shape_accuracy, track_sprite
from streamt1.models.sampler import add_noise, sample_few_step, warp_timesteps
from streamt1.sprites.captions import caption
from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.world import render_at, sample_scene, SHAPES
torch.set_grad_enabled(False)
weights = sys.argv[1] if len(sys.argv) > 1 else "src/streamt1/sprites/weights"
model = SpritesVideoModel.from_pretrained(weights).eval()
scenes = []
i = 0
while len(scenes) < 24:
    s = sample_scene(torch.Generator().manual_seed(5000 + i), "train", num_frames=90); i += 1
    if len(s.sprites) == 1 and not s.events: scenes.append(s)
def swap(s):
    sp = s.sprites[0]
    return dataclasses.replace(s, sprites=(dataclasses.replace(sp, shape=SHAPES[(SHAPES.index(sp.shape) + 3) % 6]),))
swapped = [swap(s) for s in scenes]
caps, caps_sw = [caption(s) for s in scenes], [caption(s) for s in swapped]
print(caps[0], "|", caps_sw[0])
frames = torch.stack([render_at(s, torch.arange(3)) for s in scenes])
x0 = model.codec.encode(frames)
st = model.stream; n = len(scenes)
pos = torch.arange(3).repeat(n, 1)
# text states similarity
ts, tsw = model.text_encoder(caps), model.text_encoder(caps_sw)
print("text-state rel diff", float((ts - tsw).norm() / ts.norm()))
fine = warp_timesteps(torch.linspace(1000, 0, 33)[:-1].tolist(), st.num_train_timesteps, st.shift)
def score(video, scs):
    return sum(shape_accuracy(track_sprite(v.clamp(0, 1), sc.sprites[0]), sc.sprites[0].shape) for v, sc in zip(video, scs)) / len(scs)
for sigma in (1.0, 0.8, 0.6, 0.4):
    steps = fine[fine <= sigma * st.num_train_timesteps + 1e-3]
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(x0.shape, generator=g)
    start = add_noise(x0, noise, float(steps[0]) / st.num_train_timesteps)
    for name, cs in (("true", caps), ("swapped", caps_sw)):
        text = model.transformer.encode_text(model.text_encoder(cs))
        f = lambda x, t: model.transformer(x, t.expand(n, 3), text, pos, None)
        lat = sample_few_step(f, start, steps, st.num_train_timesteps, None, "euler")
        video = model.codec.decode_chunk(lat, None)[0].float()
        print(f"sigma {sigma} caption {name:8s}: match true shape {100*score(video, scenes):5.1f}  match swapped {100*score(video, swapped):5.1f}", flush=True)
