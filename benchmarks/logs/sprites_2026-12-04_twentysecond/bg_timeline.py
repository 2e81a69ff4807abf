"""Per-chunk background match (to the caption's first and final backgrounds) of plain generation at 30 s.

    PYTHONPATH=src python benchmarks/logs/sprites_2026-12-04_twentysecond/bg_timeline.py 480 H,P2 5,1,6,0

H and P2 are folders of weights: H as committed before P4 (`git show acae948:src/streamt1/sprites/weights/...`,
with the reward files), P2 from the twenty-first session's call; the log (bg_timeline_480.log) was made with H
as the then built-in default.
"""
import sys, torch
from streamt1 import api
from streamt1.config import build_config
from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import track_sprite, sprite_free, _masked_similarity, evaluate_video
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.world import render_background
torch.set_num_threads(2)
weights = {"H": "runs/H", "P2": "runs/P2_back/runs/P2"}
frames_n = int(sys.argv[1]); which = sys.argv[2].split(","); prompts_idx = [int(i) for i in sys.argv[3].split(",")]
prompts = eval_prompts(8, frames_n)
for name in which:
    cfg = build_config("none", None, [], weights=weights[name], device="cpu", num_frames=frames_n)
    comp = api.load_components(cfg)
    for i in prompts_idx:
        p = prompts[i]
        video = api.make_search(cfg, comp).run(p, frames_n, 0, progress=False).frames.float() / 255
        scene = parse_caption(p, num_frames=video.shape[0])
        tracks = [track_sprite(video, s) for s in scene.all_sprites]
        free = sprite_free(tracks, video)
        first = render_background(scene.background, 64)[None].expand_as(video)
        last = render_background(scene.background_changes()[-1][1], 64)[None].expand_as(video)
        s0 = _masked_similarity(video, first, free); s1 = _masked_similarity(video, last, free)
        m = evaluate_video(video, p)
        step = video.shape[0] // 16
        line = " ".join(f"{float(s0[j:j+step].mean()):.2f}/{float(s1[j:j+step].mean()):.2f}" for j in range(0, video.shape[0], step))
        print(f"{name} p{i} bg={m['alignment_background']:.2f} events={[(e[0]) for e in scene.background_changes()]}\n   {p}\n   first/last per 1/16: {line}", flush=True)
