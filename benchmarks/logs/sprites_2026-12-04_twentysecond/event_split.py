"""Plain generation of two Sprites weights, paired per video, split into captions with a background event
("then the background turns ...") and those without (twenty-second session):

    python benchmarks/logs/sprites_2026-12-04_twentysecond/event_split.py BASE_FOLDER NEW_FOLDER PROMPTS FRAMES
    # e.g. logs/sprites_2026-12-03_nineteenth/R3/learned-all logs/.../P4/rep5 32 81   (R4 and rep30: 8 480)
"""
import json, sys
from streamt1.evaluate import eval_prompts
from streamt1.api import output_stem
from streamt1.metrics.stats import paired_difference
H, P, n, frames = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
h=json.load(open(H+'/results.json'))['videos']['none']; p=json.load(open(P+'/results.json'))['videos']['none']
prompts=eval_prompts(n, frames)
for group in ('event','plain'):
    keys=[output_stem(pr,s) for pr in prompts for s in range(4) if (('background turns' in pr)==(group=='event'))]
    keys=[k for k in keys if k in h and k in p]
    out=[]
    for m in ('background_consistency','alignment_background','text_alignment','subject_consistency','alignment_motion'):
        r=paired_difference({k:p[k][m] for k in keys},{k:h[k][m] for k in keys})
        out.append(f"{m[:14]} H {100*sum(h[k][m] for k in keys)/len(keys):.1f} d {100*r.mean:+.1f}±{100*r.half_width:.1f}")
    print(group, len(keys), '; '.join(out))
