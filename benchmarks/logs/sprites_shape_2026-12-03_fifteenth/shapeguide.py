"""(Ad-hoc diagnostic of the fifteenth session, run as `python shapeguide.py WEIGHTS SPLIT 0,3,10,20 5` from the repository root with PYTHONPATH=src.)
First chunk from the caption alone with CFG (model's scale) + contrastive shape guidance lambda."""
import sys, torch
sys.path.insert(0, "benchmarks")
from sprites_first_chunk import shape_scores, swap
from streamt1.models.sampler import sample_few_step, warp_timesteps
from streamt1.sprites.captions import caption
from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.world import sample_scene, SHAPES
torch.set_grad_enabled(False)
weights, split, lams = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3].split(",")]
nalt = int(sys.argv[4]) if len(sys.argv) > 4 else 1
dev = "cuda" if torch.cuda.is_available() else "cpu"
model = SpritesVideoModel.from_pretrained(weights).eval().to(dev)
scenes = [sample_scene(torch.Generator().manual_seed(1000 + i), split, num_frames=90) for i in range(24)]
n = len(scenes); st = model.stream; pos = torch.arange(3, device=dev).repeat(n, 1)
enc = lambda caps: model.transformer.encode_text(model.text_encoder(caps))
text, null = enc([caption(s) for s in scenes]), enc([""] * n)
import dataclasses
def alt(scene, k):
    return dataclasses.replace(scene, sprites=tuple(dataclasses.replace(sp, shape=SHAPES[(SHAPES.index(sp.shape) + k) % 6]) for sp in scene.sprites))
alts = [enc([caption(alt(s, k)) for s in scenes]) for k in range(1, 6)][:nalt] if nalt < 5 else [enc([caption(alt(s, k)) for s in scenes]) for k in range(1, 6)]
fine = warp_timesteps(torch.linspace(1000, 0, 33)[:-1].tolist(), st.num_train_timesteps, st.shift)
f = lambda x, t, tx: model.transformer(x, t.expand(n, 3), tx, pos, None)
w = st.guidance_scale
shape = (n, model.transformer.config.in_dim, 3, 16, 16)
for lam in lams:
    def v(x, t):
        u = f(x, t, text)
        out = f(x, t, null) + w * (u - f(x, t, null)) if w != 1 else u
        if lam:
            neg = sum(f(x, t, a) for a in alts) / len(alts)
            out = out + lam * (u - neg)
        return out
    noise = torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(dev)
    lat = sample_few_step(v, noise, fine.to(dev), st.num_train_timesteps, None, "euler")
    video = model.codec.decode_chunk(lat, None)[0].float().cpu()
    print(weights, split, f"lambda {lam}", " ".join(f"{100*x:5.1f}" for x in shape_scores(video, scenes)), flush=True)
