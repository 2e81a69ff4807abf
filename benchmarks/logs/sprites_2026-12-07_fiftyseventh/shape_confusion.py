"""Fifty-seventh session: which shape plain generation draws for each captioned one, stretch by stretch (CPU).

    python benchmarks/logs/sprites_2026-12-07_fiftyseventh/shape_confusion.py   # ~4 min on 2 cores

Committed weights, tuning prompts 32-55, seed 5, 96 frames; every sprite there from the start, up to 16 detected
frames per stretch (the metric's frames), counted by (captioned shape, best-matching template).
"""
import torch
from collections import Counter
from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import track_sprite, template_ious, shape_frames
from streamt1.search.beam import StreamSearch
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.model import SpritesVideoModel, build_generator
from streamt1.sprites.world import SHAPES
torch.set_num_threads(2)
W="src/streamt1/sprites/weights"; F=96
config = build_config("none", None, [], num_frames=F, weights=W, device="cpu", backend="sprites")
gen = build_generator(SpritesVideoModel.from_pretrained(W), {"global_sink": config.search.global_sink}, device="cpu")
search = StreamSearch(gen, config.search, None, None, method="none", settings={})
prompts = eval_prompts(64, F)[32:64]
conf = {s: Counter() for s in ((0,3),(3,24),(24,48),(48,96))}
for i,p in enumerate(prompts[:24]):
    v = search.run(p, F, 5, progress=False).frames.cpu().float()/255
    for sp in parse_caption(p, F).sprites:
        for (a,b) in conf:
            tr = track_sprite(v[a:b], sp)
            fr = shape_frames(tr)
            if len(fr)==0: continue
            best = template_ious(tr, fr).argmax(1)
            for k in best.tolist(): conf[(a,b)][(sp.shape, SHAPES[k])] += 1
    print(i, flush=True)
for st,c in conf.items():
    print("stretch", st)
    print("true\\pred", " ".join(f"{s[:6]:>7}" for s in SHAPES))
    for s in SHAPES:
        print(f"{s:9}", " ".join(f"{c[(s,t)]:7d}" for t in SHAPES))
