"""Is a model's imaging quality a quality or a content difference? (CPU, about a minute.)

    python benchmarks/logs/sprites_2026-12-04_twentysixth/imaging_vs_render.py

Imaging quality here (streamt1.metrics.sprites.imaging_quality, sharpness x cleanliness) depends on what
is drawn: the world's own renders of the tuning captions (prompts 32-63, 96 frames) score 92.5, and the
same scenes with every sprite a circle 2.3 points less, with every sprite a cross 1.5 more. This prints,
for P4, M1 and M2 (plain generation, tuning split, seeds 5-7, the calls' saved scores), the mean imaging
quality, its mean absolute distance from the render of the same caption, and the paired difference of
that distance against P4's (negative: closer to the world's own frames). A post-hoc analysis, made after
M1 and M2 failed the calls' rule on imaging quality; it is not that rule.
"""
import dataclasses
import json
from pathlib import Path

from streamt1.evaluate import eval_prompts
from streamt1.metrics.sprites import imaging_quality
from streamt1.metrics.stats import paired_difference
from streamt1.sprites.captions import parse_caption
from streamt1.sprites.world import SHAPES, render

logs = Path(__file__).parent.parent
FRAMES = 96
prompts = eval_prompts(64, FRAMES)[32:]


def with_shape(scene, shape):
    def redraw(sprite):
        return dataclasses.replace(sprite, shape=shape)
    return dataclasses.replace(scene, sprites=tuple(map(redraw, scene.sprites)), events=tuple(
        dataclasses.replace(e, sprite=redraw(e.sprite)) if e.sprite is not None else e for e in scene.events))


scenes = [parse_caption(p, FRAMES) for p in prompts]
render_iq = {i: imaging_quality(render(s, FRAMES).clamp(0, 1)) for i, s in enumerate(scenes)}
print(f"renders: imaging quality {100 * sum(render_iq.values()) / len(render_iq):.1f}")
for shape in SHAPES:
    other = {i: imaging_quality(render(with_shape(s, shape), FRAMES).clamp(0, 1)) for i, s in enumerate(scenes)}
    d = paired_difference(other, render_iq)
    print(f"  every sprite a {shape}: {100 * d.mean:+.1f} ± {100 * d.half_width:.1f}")


def tuning(label_of) -> dict:
    out = {}
    for seed in (5, 6, 7):
        for half in (32, 48):
            for i, v in enumerate(json.loads((logs / label_of(seed, half)).read_text())["scores"]["imaging_quality"]):
                out[(seed, half, i)] = v
    return out


models = {
    "P4": tuning(lambda s, h: f"sprites_2026-12-04_twentysecond/P4/tune/P4-{h}.json" if s == 5
                 else f"sprites_2026-12-04_twentyfifth/X3/tune/P4-{h}-s{s}.json"),
    "M1": tuning(lambda s, h: f"sprites_2026-12-04_twentysixth/Z1/tune/M1-{h}" + ("" if s == 5 else f"-s{s}") + ".json"),
    "M2": tuning(lambda s, h: f"sprites_2026-12-04_twentysixth/Z2/tune/M2-{h}" + ("" if s == 5 else f"-s{s}") + ".json"),
}
distance = {name: {k: abs(v - render_iq[k[1] - 32 + k[2]]) for k, v in iq.items()} for name, iq in models.items()}
for name, iq in models.items():
    line = f"{name}: imaging quality {100 * sum(iq.values()) / len(iq):.1f}, |model - render| {100 * sum(distance[name].values()) / len(iq):.2f}"
    if name != "P4":
        d = paired_difference(distance[name], distance["P4"])
        line += f", distance - P4's {100 * d.mean:+.2f} ± {100 * d.half_width:.2f}"
    print(line)
