"""(thirty-eighth session; run from the repository root with the venv active: see results.txt)
Probe: a motion score from the image reward's sprite localisation (soft-argmax of its colour+shape+size
match over cells) projected on the caption's direction, against the truth's motion alignment, offline."""
import sys, torch
from streamt1.sprites.siblings import load_groups
from streamt1.sprites.rewards import SpritesImageReward, caption_slots, ATTRIBUTE_MAPS
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.world import DIRECTIONS
from streamt1.agreement import pairwise_agreement

torch.set_grad_enabled(False)
reward = SpritesImageReward.from_pretrained(None, "cpu").eval()
train, tune = load_groups(sys.argv[1])
groups = train + tune
temps = [float(t) for t in sys.argv[2:]] or [1.0]
grid = torch.stack(torch.meshgrid(torch.arange(16.), torch.arange(16.), indexing="ij"), -1).flatten(0, 1)  # [256,2] (row, col)

def motion_scores(clip, prompt, fps, temp):
    x = clip.float() / 255
    cells, _ = reward.net(x)
    slots = caption_slots([prompt] * len(x))
    m = reward.match
    match = sum(torch.einsum("bsd,bdn->bsn", m.attributes[k](slots.sprites[..., k]), cells[:, ATTRIBUTE_MAPS[k]].flatten(2)) for k in (0, 1, 2))
    scene = parse_caption(prompt, num_frames=len(x))
    out = []
    for s, sprite in enumerate(scene.all_sprites[: int(slots.sprite_mask[0].sum())]):
        if sprite.motion not in DIRECTIONS:
            continue
        w = torch.softmax(match[:, s] / temp, -1)  # [T, 256]
        pos = w @ grid  # [T, 2] (row, col) in cells
        ex, ey = DIRECTIONS[sprite.motion]
        # least-squares velocity over the window, cells per second, projected on the direction
        t = torch.arange(len(x), dtype=torch.float) / fps
        tc = t - t.mean()
        vy = float((tc * (pos[:, 0] - pos[:, 0].mean())).sum() / (tc * tc).sum())
        vx = float((tc * (pos[:, 1] - pos[:, 1].mean())).sum() / (tc * tc).sum())
        out.append(vx * ex + vy * ey)
    return sum(out) / len(out) if out else 0.0

for temp in temps:
    rows_m, rows_mix = [], {w: [] for w in (0.25, 0.5, 1, 2)}
    for g in groups:
        clips = g.video_clips()
        mv = torch.tensor([motion_scores(c, g.prompt, g.fps, temp) for c in clips])
        rows_m.append((mv.tolist(), g.window_metrics["alignment_motion"].tolist()))
        z = lambda v: (v - v.mean()) / (v.std(unbiased=False) + 1e-6)
        truth = g.video_truth().tolist()
        for w in rows_mix:
            rows_mix[w].append(((z(g.recorded_fused) + w * z(mv)).tolist(), truth))
    print("temp", temp, "motion score vs truth motion:", pairwise_agreement(rows_m),
          {w: pairwise_agreement(r) for w, r in rows_mix.items()}, flush=True)
