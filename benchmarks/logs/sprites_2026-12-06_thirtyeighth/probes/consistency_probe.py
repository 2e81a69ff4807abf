"""(thirty-eighth session; run from the repository root with the venv active: see results.txt)
Probe: does a consistency score from the image reward's own shape features order sibling candidates
by the truth's subject consistency? (offline, on recorded sibling groups)"""
import sys, torch, torch.nn.functional as F
from streamt1.sprites.siblings import load_groups
from streamt1.sprites.rewards import SpritesImageReward, caption_slots, ATTRIBUTE_MAPS, SHAPE_MAP
from streamt1.agreement import pairwise_agreement

torch.set_grad_enabled(False)
reward = SpritesImageReward.from_pretrained(None, "cpu").eval()
folder = sys.argv[1]
train, tune = load_groups(folder)
groups = train + tune

def vbench(feats):
    feats = F.normalize(feats, dim=-1, eps=1e-6)
    prev = (feats[1:] * feats[:-1]).sum(-1).clamp(min=0)
    first = (feats[1:] @ feats[0]).clamp(min=0)
    return ((prev + first) / 2).mean()

def consistency(clip, prompt, mode):
    x = clip.float() / 255  # [T,3,H,W]
    cells, _ = reward.net(x)  # as SpritesImageReward.logits feeds it: frames in [0, 1]
    slots = caption_slots([prompt] * len(x))
    m = reward.match
    match = sum(torch.einsum("bsd,bdn->bsn", m.attributes[k](slots.sprites[..., k]), cells[:, ATTRIBUTE_MAPS[k]].flatten(2)) for k in (0, 1, 2))
    best = match.argmax(-1)  # [T, S]
    mask = slots.sprite_mask[0]
    scores = []
    for s in range(int(mask.sum())):
        idx = best[:, s]  # [T]
        if mode == "cell":
            f = cells[:, SHAPE_MAP].flatten(2)[torch.arange(len(x)), :, idx]  # [T, D]
        elif mode == "patch":  # 3x3 cells around
            sm = cells[:, SHAPE_MAP]  # [T,D,16,16]
            pad = F.pad(sm, (1, 1, 1, 1))
            r, c = idx // 16, idx % 16
            f = torch.stack([pad[t, :, r[t]:r[t] + 3, c[t]:c[t] + 3].flatten() for t in range(len(x))])
        scores.append(vbench(f))
    return float(sum(scores) / len(scores))

for mode in sys.argv[2:]:
    rows_sc, rows_fused, rows_mix = [], [], {w: [] for w in (0.5, 1, 2, 4)}
    for g in groups:
        clips = g.video_clips()
        cons = torch.tensor([consistency(c, g.prompt, mode) for c in clips])
        sc = g.window_metrics["subject_consistency"].tolist()
        truth = g.video_truth().tolist()
        rows_sc.append((cons.tolist(), sc))
        rows_fused.append((g.recorded_fused.tolist(), truth))
        rec = g.recorded_fused
        z = lambda v: (v - v.mean()) / (v.std(unbiased=False) + 1e-6)
        for w in rows_mix:
            rows_mix[w].append(((z(rec) + w * z(cons)).tolist(), truth))
    print(mode, "consistency vs truth SC:", pairwise_agreement(rows_sc),
          "recorded fused vs fused truth:", pairwise_agreement(rows_fused),
          {w: pairwise_agreement(r) for w, r in rows_mix.items()}, flush=True)
