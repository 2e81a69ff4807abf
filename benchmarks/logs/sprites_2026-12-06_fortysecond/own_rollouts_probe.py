"""Three of OF2's own starts of videos (15 frames) and their redrawn targets, on the CPU (~35 s): the picture
own_rollouts_OF2.png (rows in pairs: the model's frames, then the target). Its call follows own_rollouts'
signature of the forty-third session (streamed through the generator's cache; the picture predates it).

    python benchmarks/logs/sprites_2026-12-06_fortysecond/own_rollouts_probe.py [OUT.png]
"""
import sys

import torch, matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR
from streamt1.sprites.own_states import own_rollouts
m = SpritesVideoModel.from_pretrained(DEFAULT_WEIGHTS_DIR).eval()
own = own_rollouts(m, 3, 15, (30, 480), torch.Generator().manual_seed(5), batch_size=3)
drawn = m.codec.decode_chunk(own.context.float(), None)[0]
fixed = m.codec.decode_chunk(own.targets.float(), None)[0]
print(own.sigmas, own.found, own.captions)
fig, ax = plt.subplots(6, 8, figsize=(16, 12))
for i in range(3):
    for j, f in enumerate([0, 2, 3, 5, 6, 9, 12, 14]):
        ax[2*i, j].imshow(drawn[i, f].permute(1, 2, 0)); ax[2*i+1, j].imshow(fixed[i, f].permute(1, 2, 0))
        ax[2*i, j].set_title(f"frame {f}", fontsize=8)
for a in ax.flat: a.axis('off')
plt.savefig(sys.argv[1] if len(sys.argv) > 1 else 'own_rollouts_OF2.png', dpi=55, bbox_inches='tight')
