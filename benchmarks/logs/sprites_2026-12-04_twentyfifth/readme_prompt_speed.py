"""The README prompt's sprite speed in plain generation, seeds 0-2, 162 frames, CPU (about 40 s):
mean horizontal speed (px per frame, 64-px frames; captioned: -0.5) over each 27-frame span.

    python benchmarks/logs/sprites_2026-12-04_twentyfifth/readme_prompt_speed.py [PROMPT] [--set overrides as KEY=VALUE ...]
"""
import sys, torch
from streamt1 import api
from streamt1.config import build_config
from streamt1.metrics.sprites import track_sprite, evaluate_video
from streamt1.sprites.captions import parse_caption
prompt = sys.argv[1] if len(sys.argv)>1 else "a small red circle moves left over a blue background"
sets = sys.argv[2:]
n=162
cfg=build_config("none",None,sets,device="cpu",num_frames=n)
comp=api.load_components(cfg)
for seed in (0,1,2):
    fr=api.make_search(cfg,comp).run(prompt,n,seed,progress=False).frames.float()/255
    tr=track_sprite(fr,parse_caption(prompt,n).all_sprites[0])
    cx=tr.cx; d=torch.remainder(cx.diff()+0.5,1)-0.5
    per=[float(d[i:i+27].sum()*64/27) for i in range(0,len(d),27)]
    s=evaluate_video(fr,prompt)
    print(seed, "px/frame per 27-frame span:", " ".join(f"{p:+.2f}" for p in per), "| motion", round(s['alignment_motion'],2), "det", int(tr.detected.sum()))
