"""How much of P4's cross-attention falls on the caption's words and how much on the zero-padded text
slots (Wan attends to all text slots, unmasked), per layer and head, on the first chunk of 16 train-split
scenes noised to sigma 0.9 / 0.7 / 0.4 (CPU, seconds):

    python benchmarks/logs/sprites_2026-12-04_twentyfifth/cross_attention_padding.py
"""
import torch, math
from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR
from streamt1.sprites.world import render_at, sample_scene
from streamt1.sprites.captions import caption
from streamt1.models import causal_wan as cw
from streamt1.models.sampler import add_noise
torch.manual_seed(0)
model = SpritesVideoModel.from_pretrained(DEFAULT_WEIGHTS_DIR).eval().float()
scenes=[sample_scene(torch.Generator().manual_seed(1000+i),"train",num_frames=90) for i in range(16)]
caps=[caption(s) for s in scenes]
frames=torch.stack([render_at(s,torch.arange(3)) for s in scenes])
x0=model.codec.encode(frames)
stats=[]
orig=cw.CrossAttention.forward
def fwd(self,x,kv):
    b,n,c=x.shape; k,v=kv
    q=self.norm_q(self.q(x)).view(b,n,self.num_heads,-1)
    logits=torch.einsum('bnhd,bmhd->bhnm',q,k)/math.sqrt(q.shape[-1])
    p=logits.softmax(-1)
    stats.append(p)
    return orig(self,x,kv)
cw.CrossAttention.forward=fwd
ids=model.text_encoder.tokenizer(caps)
nreal=(ids!=0).sum(1)
with torch.no_grad():
    text=model.transformer.encode_text(model.text_encoder(caps),90)
    for sigma in (0.9,0.7,0.4):
        stats.clear()
        xt=add_noise(x0,torch.randn_like(x0),sigma)
        t=torch.full((16,3),sigma*1000.)
        model.transformer(xt,t,text,torch.arange(3).repeat(16,1),None)
        for li,p in enumerate(stats):
            real=(ids!=0)[:,None,None,:].float()
            mass=(p*real).sum(-1).mean((0,2))  # per head
            print(f"sigma {sigma} layer {li} real-token mass per head:", " ".join(f"{m:.2f}" for m in mass.tolist()))
print("real tokens per caption", nreal.float().mean().item())
