"""Where a Sprites model loses its shapes: the first chunk from the caption alone, a chunk continued
from a clean context, and chunks finished from noised renders.

    python benchmarks/sprites_first_chunk.py [--weights DIR] [--num-scenes 24] [--split train] [--seed 0]

For ``num-scenes`` scenes of a split (scene seeds 1000, 1001, ...; their canonical captions) prints
the share of frames in which each visible sprite is detected and the share whose mask best matches
its captioned shape (`streamt1.metrics.sprites.shape_accuracy`; also apart for scenes of one sprite
and of more), for:

* ``render``: the world's own frames 0-2 (the metric's ceiling);
* ``caption``: the first chunk generated from the caption alone (plain generation, 3 frames, the
  model's own sampling: substeps and guidance included);
* ``context``: frames 6-8 generated after the clean rendered frames 0-5 (the cache of a stream
  whose first two chunks were right), with the model's own schedule for later chunks;
* ``from sigma S``: frames 0-2 noised to sigma S and finished with the same Euler schedule from S;
* ``swapped, from sigma S``: the same, but the caption names another shape for every sprite (three
  places on in ``SHAPES``), scored against the captioned shape: a model that reads shape words moves
  towards them, one that ignores them keeps the rendered shape and scores near zero here (on the
  train split about one swapped sprite in five lands on a colour-shape pair held out from training);
* ``caption sensitivity``: one prediction of the first chunk (renders noised to sigma 0.9 ... 0.3):
  the relative change of the predicted flow when every sprite's shape, colour, size or motion word
  changes, a direct view of which words the model reads;
* with ``--search N,N,...``: the first chunk as Stream-T1 picks it with the default rewards from N
  candidates (``search.first_chunk_candidates``; K * M = 4 by default);
* with ``--guide DIR``: the first chunk from the caption alone in one 32-step Euler loop, guided by
  the model's empty caption (classifier-free guidance at the model's own scale, ``cfg xW``) or by a
  weaker Sprites model's prediction for the same caption (autoguidance, Karras et al. 2024:
  ``guide + W * (model - guide)``, ``autoguided xW``), e.g. an older default from git history:
  ``mkdir old && git show 34fb3e4:src/streamt1/sprites/weights/sprites_model.json > old/sprites_model.json``
  (and the same for ``sprites_model.safetensors``).
* with ``--contrast W,W,...``: the first chunk from the caption alone in the same 32-step loop, with the
  guidance of the model's own scale plus a shape contrast of weight W (``cfg + shape contrast xW``):
  ``null + g * (caption - null) + W * (caption - other shapes)``, where ``other shapes`` is the mean
  prediction for the caption with every sprite's shape moved 1 ... 5 places on in ``SHAPES`` (the
  five other shapes): guidance towards what the shape words, and only they, say.

A model that scores well with a clean context and from a low sigma but badly from the caption alone
decides layout and shape in the high-noise steps of the first chunk: that is where training must act.
"""

from __future__ import annotations

import argparse
import dataclasses
from functools import partial

import torch

from streamt1 import api
from streamt1.config import build_config
from streamt1.metrics.sprites import shape_accuracy, track_sprite
from streamt1.models.causal_wan import block_causal_mask
from streamt1.models.sampler import add_noise, sample_few_step, warp_timesteps
from streamt1.sprites.captions import caption
from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR
from streamt1.sprites.world import COLORS, MOTIONS, SHAPES, SIZES, render_at, sample_scene

SCENE_FRAMES = 90  # the scenes' length (their events fall after the first chunk)
START_SIGMAS = (0.8, 0.6, 0.4)
SENSITIVITY_SIGMAS = (0.9, 0.7, 0.5, 0.3)


def shape_scores(videos: torch.Tensor, scenes: list) -> tuple[float, ...]:
    """Means over the scenes' sprites of (detected share, shape accuracy, shape accuracy in scenes of
    one sprite, in scenes of more), videos ``[N, T, 3, H, W]`` in [0, 1]."""
    detected, shapes, alone, crowded = [], [], [], []
    for video, scene in zip(videos, scenes):
        for sprite in scene.sprites:
            track = track_sprite(video.float().clamp(0, 1).cpu(), sprite)
            detected.append(float(track.detected.float().mean()))
            shapes.append(shape_accuracy(track, sprite.shape))
            (alone if len(scene.sprites) == 1 else crowded).append(shapes[-1])
    mean = lambda values: sum(values) / len(values) if values else float("nan")  # noqa: E731
    return mean(detected), mean(shapes), mean(alone), mean(crowded)


# What a caption says of a sprite, and the values each word can take
ATTRIBUTES = {"shape": SHAPES, "color": tuple(COLORS), "size": tuple(SIZES), "motion": MOTIONS}


def shifted(scene, attribute: str, places: int):
    """The scene with every sprite's ``attribute`` moved ``places`` on round its values (the rest kept)."""
    values = ATTRIBUTES[attribute]

    def moved(sprite):
        value = values[(values.index(getattr(sprite, attribute)) + places) % len(values)]
        return dataclasses.replace(sprite, **{attribute: value})
    return dataclasses.replace(scene, sprites=tuple(moved(sprite) for sprite in scene.sprites))


def swap(scene, attribute: str):
    """The scene with every sprite's ``attribute`` moved half-way round its values (the rest kept)."""
    return shifted(scene, attribute, len(ATTRIBUTES[attribute]) // 2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    p.add_argument("--num-scenes", type=int, default=24)
    p.add_argument("--split", default="train", choices=("train", "eval"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--search", default=None, help="first-chunk candidate counts for Stream-T1 rows, e.g. 4,16")
    p.add_argument("--guide", default=None, help="weights of a weaker Sprites model: add autoguidance rows")
    p.add_argument("--guide-scales", default="2,3", help="autoguidance scales, comma-separated")
    p.add_argument("--contrast", default=None, help="shape-contrast weights, comma-separated, e.g. 0,1,2")
    args = p.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = SpritesVideoModel.from_pretrained(args.weights).eval().to(device)
    scenes = [sample_scene(torch.Generator().manual_seed(1000 + i), args.split, num_frames=SCENE_FRAMES)
              for i in range(args.num_scenes)]
    captions = [caption(scene) for scene in scenes]
    frames = torch.stack([render_at(scene, torch.arange(9)) for scene in scenes]).to(device)
    rows = {"render": shape_scores(frames[:, :3], scenes)}

    def first_chunks(method: str, overrides: list[str]) -> torch.Tensor:
        """The first chunk (3 frames) of every caption as the preset ``method`` makes it, in [0, 1]."""
        # a 3-frame video: a model conditioned on the video's length (progress_embedding) is told so
        config = build_config(method, None, overrides, weights=args.weights, device=str(device), num_frames=3)
        search = api.make_search(config, api.load_components(config))
        return torch.stack([search.run(c, 3, args.seed, progress=False).frames for c in captions]).float() / 255

    rows["caption"] = shape_scores(first_chunks("none", []), scenes)
    for count in [] if args.search is None else [int(c) for c in args.search.split(",")]:
        rows[f"stream-t1 of {count}"] = shape_scores(
            first_chunks("stream-t1", [f"search.first_chunk_candidates={count}"]), scenes)

    stream, n = model.stream, len(scenes)
    timesteps = warp_timesteps(stream.denoising_steps, stream.num_train_timesteps, stream.shift).to(device)
    x0 = model.codec.encode(frames)  # [N, C, 9, h, w]
    g = torch.Generator(device=device).manual_seed(args.seed)
    decode = lambda latents: model.codec.decode_chunk(latents, None)[0]  # noqa: E731
    with torch.no_grad():
        text = model.transformer.encode_text(model.text_encoder(captions), SCENE_FRAMES)
        mask = block_causal_mask(9, stream.chunk_frames, stream.sink_frames, stream.window_frames, device=device)
        positions = torch.arange(9, device=device).repeat(n, 1)

        def continue_clean(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            times = torch.cat([torch.zeros(n, 6, device=device), t.expand(n, 3)], 1)
            return model.transformer(torch.cat([x0[:, :, :6], x], 2), times, text, positions, mask)[:, :, 6:]

        noise = torch.randn(x0[:, :, 6:].shape, generator=g, device=device)
        latents = sample_few_step(continue_clean, noise, timesteps, stream.num_train_timesteps, None, "euler")
        rows["context"] = shape_scores(decode(latents), scenes)

        def first_chunk(x: torch.Tensor, t: torch.Tensor, text=text) -> torch.Tensor:
            return model.transformer(x, t.expand(n, 3), text, positions[:, :3], None)

        swapped = {attribute: [swap(scene, attribute) for scene in scenes] for attribute in ATTRIBUTES}
        swapped_text = {attribute: model.transformer.encode_text(model.text_encoder([caption(s) for s in changed]),
                                                                  SCENE_FRAMES)
                        for attribute, changed in swapped.items()}

        fine = warp_timesteps(torch.linspace(1000, 0, 33)[:-1].tolist(), stream.num_train_timesteps, stream.shift)
        for sigma in START_SIGMAS:
            steps = fine[fine <= sigma * stream.num_train_timesteps + 1e-3].to(device)
            start = add_noise(x0[:, :, :3], torch.randn(x0[:, :, :3].shape, generator=g, device=device),
                              float(steps[0]) / stream.num_train_timesteps)
            latents = sample_few_step(first_chunk, start, steps, stream.num_train_timesteps, None, "euler")
            rows[f"from sigma {sigma}"] = shape_scores(decode(latents), scenes)
            latents = sample_few_step(partial(first_chunk, text=swapped_text["shape"]), start, steps,
                                      stream.num_train_timesteps, None, "euler")
            rows[f"swapped, from sigma {sigma}"] = shape_scores(decode(latents), swapped["shape"])
        sensitivity = {}
        for sigma in SENSITIVITY_SIGMAS:
            start = add_noise(x0[:, :, :3], torch.randn(x0[:, :, :3].shape, generator=g, device=device), sigma)
            t = torch.tensor(sigma * stream.num_train_timesteps, device=device)
            base = first_chunk(start, t)
            for attribute, text_swapped in swapped_text.items():
                change = float((first_chunk(start, t, text=text_swapped) - base).norm() / base.norm())
                sensitivity.setdefault(attribute, []).append(change)
        if args.guide is not None:
            guide = SpritesVideoModel.from_pretrained(args.guide).eval().to(device)
            conditions = {"cfg": (model, model.transformer.encode_text(model.text_encoder([""] * n), SCENE_FRAMES)),
                          "autoguided": (guide, guide.transformer.encode_text(guide.text_encoder(captions),
                                                                              SCENE_FRAMES))}
            scales = [("cfg", stream.guidance_scale)] + [("autoguided", float(w)) for w in args.guide_scales.split(",")]
            for kind, scale in scales:
                other, other_text = conditions[kind]

                def guided(x: torch.Tensor, t: torch.Tensor, other=other, other_text=other_text, scale=scale):
                    u = other.transformer(x, t.expand(n, 3), other_text, positions[:, :3], None)
                    return torch.lerp(u, first_chunk(x, t), scale)

                noise = torch.randn(x0[:, :, :3].shape, generator=torch.Generator(device=device).manual_seed(args.seed),
                                    device=device)
                latents = sample_few_step(guided, noise, fine.to(device), stream.num_train_timesteps, None, "euler")
                rows[f"{kind} x{scale:g}"] = shape_scores(decode(latents), scenes)
        if args.contrast is not None:
            null_text = model.transformer.encode_text(model.text_encoder([""] * n), SCENE_FRAMES)
            others = [model.transformer.encode_text(model.text_encoder([caption(shifted(scene, "shape", k))
                                                                          for scene in scenes]), SCENE_FRAMES)
                      for k in range(1, len(SHAPES))]

            def contrasted(x: torch.Tensor, t: torch.Tensor, weight: float) -> torch.Tensor:
                wanted, null = first_chunk(x, t), first_chunk(x, t, text=null_text)
                flow = torch.lerp(null, wanted, stream.guidance_scale)
                if weight:
                    other = torch.stack([first_chunk(x, t, text=o) for o in others]).mean(0)
                    flow = flow + weight * (wanted - other)
                return flow

            for weight in (float(w) for w in args.contrast.split(",")):
                noise = torch.randn(x0[:, :, :3].shape, generator=torch.Generator(device=device).manual_seed(args.seed),
                                    device=device)
                latents = sample_few_step(partial(contrasted, weight=weight), noise, fine.to(device),
                                          stream.num_train_timesteps, None, "euler")
                rows[f"cfg + shape contrast x{weight:g}"] = shape_scores(decode(latents), scenes)
    single = sum(len(scene.sprites) == 1 for scene in scenes)
    print(f"{args.weights} ({args.split} split, {n} scenes, {single} of one sprite): detected / shape match / "
          "shape match in scenes of one sprite / of more, %")
    for name, scores in rows.items():
        print(f"  {name:24s} " + " ".join(f"{100 * v:5.1f}" for v in scores))
    print("caption sensitivity: relative change (%) of the first chunk's predicted flow when every sprite's word "
          "changes, at sigma " + " / ".join(map(str, SENSITIVITY_SIGMAS)))
    for attribute, changes in sensitivity.items():
        print(f"  {attribute:24s} " + " ".join(f"{100 * v:5.2f}" for v in changes))


if __name__ == "__main__":
    main()
