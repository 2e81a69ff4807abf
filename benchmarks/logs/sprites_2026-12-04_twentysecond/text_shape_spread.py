# Does the caption's shape word reach the transformer? (twenty-second session, CPU, committed weights)
# Spread of the text features across shape words vs across colour words, relative to their total spread:
#   PYTHONPATH=src python benchmarks/logs/sprites_2026-12-04_twentysecond/text_shape_spread.py
import torch
from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.world import SHAPES, COLORS
m = SpritesVideoModel.from_pretrained("src/streamt1/sprites/weights")
te, tr = m.text_encoder, m.transformer
cols = list(COLORS)
def caps(fmt):
    return [fmt.format(c=c, s=s) for c in cols[:6] for s in SHAPES]
fmts = ["A small {c} {s} moves left over a blue background",
        "A large {c} {s} bounces over green and white stripes"]
with torch.no_grad():
    for fmt in fmts:
        cs = caps(fmt)
        h = te(cs)                      # [N, L, D]
        kv = tr.encode_text(h, 96) if tr.config.progress_embedding else tr.encode_text(h)
        feats = {"text": h.flatten(1), "pooled": kv.pooled, "v0": kv.values[0].flatten(1), "k0": kv.keys[0].flatten(1)}
        for name, f in feats.items():
            f = f.view(6, 6, -1)  # colour, shape
            mean = f.mean((0, 1), keepdim=True)
            spread = (f - mean).norm(dim=-1).mean()
            dshape = (f - f.mean(1, keepdim=True)).norm(dim=-1).mean() / spread  # variation across shapes
            dcol = (f - f.mean(0, keepdim=True)).norm(dim=-1).mean() / spread
            print(f"{fmt[:22]:24s} {name:7s} shape-var {dshape:.3f} colour-var {dcol:.3f}")
