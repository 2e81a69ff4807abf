"""Fifty-seventh session: plain generation of straight movers with guidance against the reversed caption.

    python benchmarks/logs/sprites_2026-12-07_fiftyseventh/reversed_caption_guidance.py SCALE [SCENES]

Chunks after the first take classifier-free guidance with the caption's motion reversed as the negative
(left <-> right, up <-> down) at SCALE, every step; the first chunk keeps its own guidance. 48 frames, the
straight movers of sprites_motion_start.py that have a reversed word, seed 0, CPU.
"""
import sys, dataclasses, torch
sys.path.insert(0, "benchmarks")
from sprites_motion_start import straight_scenes, motion_scores, displacement, reversed_scene, REVERSED
from streamt1 import api
from streamt1.config import build_config
from streamt1.sprites.captions import caption
from streamt1.models.generator import CausalWanGenerator
from streamt1.metrics.sprites import evaluate_video
torch.set_num_threads(2)
F = 48
scenes = [s for s in straight_scenes(24, F) if s.sprites[0].motion in REVERSED][:int(sys.argv[2]) if len(sys.argv) > 2 else 16]
caps = [caption(s) for s in scenes]
negs = {c: caption(reversed_scene(s)) for c, s in zip(caps, scenes)}
config = build_config("none", None, [], num_frames=F, device="cpu")
search = api.make_search(config, api.load_components(config))
gen = search.generator
base = gen.stream
orig_denoise, orig_null = CausalWanGenerator.denoise, CausalWanGenerator._null_condition
S = float(sys.argv[1])
cur = {}
def denoise(self, state, *a, **k):
    if state.num_chunks > 0 and S != 1:
        self.stream = dataclasses.replace(base, guidance_scale=S, guided_chunks=0, guidance_sigmas=(0.0, 1.0))
        cur["neg"] = True
    else:
        self.stream = base; cur["neg"] = False
    try:
        return orig_denoise(self, state, *a, **k)
    finally:
        self.stream = base
def null(self, condition):
    if cur.get("neg"):
        return self.encode_prompt(negs[cur["prompt"]], None if condition.video_frames is None else int(condition.video_frames[0]))
    return orig_null(self, condition)
CausalWanGenerator.denoise, CausalWanGenerator._null_condition = denoise, null
gen.keep_prompts(list(negs.values()))
vids = []
for c in caps:
    cur["prompt"] = c
    vids.append(search.run(c, F, 0, progress=False).frames.float() / 255)
vids = torch.stack(vids)
m, d = motion_scores(vids, scenes)
disp = displacement(vids, scenes)
ev = [evaluate_video(v, c) for v, c in zip(vids, caps)]
mean = lambda k: 100 * sum(e[k] for e in ev) / len(ev)
print(f"S={S}: motion {100*m:.1f} detected {100*d:.1f} displacement {disp.mean():+.2f} px (render {0.12*64*(F-1)/16:.1f}) "
      f"positive {100*(disp>0).float().mean():.0f}% | subject {mean('subject_consistency'):.1f} shape {mean('alignment_shape'):.1f} "
      f"presence {mean('alignment_presence'):.1f} bg {mean('alignment_background'):.1f} imaging {mean('imaging_quality'):.1f}", flush=True)
