"""Stream-T1 on the tuning split (prompts 32-63, seed 5, 96 frames, H200) with the rewards fine-tuned
at lr 3e-5 (V1) against the committed rewards and against plain generation (P4's runs of the
twenty-second session; the committed-reward runs reproduced them to the printed digit in call V2)."""
import json
from pathlib import Path

from streamt1.metrics.stats import paired_difference

here = Path(__file__).parent
p4 = here.parent / "sprites_2026-12-04_twentysecond" / "P4" / "tune"


def scores(path_of_half) -> dict:
    out: dict = {}
    for half in (32, 48):
        run = json.loads(Path(path_of_half(half)).read_text())
        for key, values in run["scores"].items():
            out.setdefault(key, {}).update({(half, i): v for i, v in enumerate(values)})
    return out


tuned = scores(lambda h: here / "V2" / f"st1-tuned-{h}.json")
committed = scores(lambda h: p4 / f"st1-P4-{h}.json")
plain = scores(lambda h: p4 / f"P4-{h}.json")
for name, (a, b) in {"tuned - committed": (tuned, committed), "tuned - plain": (tuned, plain),
                     "committed - plain": (committed, plain)}.items():
    diffs = {k: paired_difference(a[k], b[k]) for k in a}
    print(f"{name} (points, 95 %):", ", ".join(f"{k} {100 * d.mean:+.1f} ± {100 * d.half_width:.1f}"
                                            for k, d in diffs.items()))
