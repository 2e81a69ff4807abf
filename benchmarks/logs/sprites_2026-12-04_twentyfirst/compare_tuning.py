# Tuning-split comparison of call P1/P2 against H (plain and Stream-T1): python benchmarks/logs/sprites_2026-12-04_twentyfirst/compare_tuning.py benchmarks/logs/sprites_2026-12-04_twentyfirst/P2/tune P2
import json, sys
from pathlib import Path
from streamt1.metrics.stats import paired_difference
d=Path(sys.argv[1]); lab=sys.argv[2]
def load(prefix):
    parts=[json.loads((d/f"{prefix}-{h}.json").read_text()) for h in (32,48)]
    return {k: parts[0]['scores'][k]+parts[1]['scores'][k] for k in parts[0]['scores']}, parts[0]['prompts']+parts[1]['prompts']
P,pp=load(lab); S,_=load('st1-'+lab)
H=json.load(open('benchmarks/logs/sprites_codec_2026-12-03_sixteenth/tune/H.json'))
b='benchmarks/logs/sprites_2026-12-03_twentieth/S3/tune/st1-tau0.4-'
SH=[json.load(open(b+f'{h}.json')) for h in (32,48)]
SH={k: SH[0]['scores'][k]+SH[1]['scores'][k] for k in SH[0]['scores']}
keys=["subject_consistency","text_alignment","alignment_background","alignment_presence","alignment_shape","alignment_motion","background_consistency"]
def show(name,a,base):
    print(name, '; '.join(f"{k.replace('alignment_','')[:10]} {100*r.mean:+.1f}±{100*r.half_width:.1f}" for k in keys for r in [paired_difference(dict(enumerate(a[k])),dict(enumerate(base[k])))]))
show(lab+'-H plain',P,H['scores']); show('st1 '+lab+' - st1 H',S,SH); show('st1 - plain '+lab,S,P); show('st1 H - plain H',SH,H['scores'])
ev=[i for i,p in enumerate(pp) if 'background turns' in p]
print(len(ev),'event prompts; bg H %.3f %s %.3f st1H %.3f st1 %.3f'%(sum(H['scores']['alignment_background'][i] for i in ev)/len(ev),lab,sum(P['alignment_background'][i] for i in ev)/len(ev),sum(SH['alignment_background'][i] for i in ev)/len(ev),sum(S['alignment_background'][i] for i in ev)/len(ev)))
