"""Does a Sprites model move its sprites as captioned: continuing a moving context, starting from a
still one, and in plain generation?

    python benchmarks/sprites_motion_start.py [--weights DIR] [--num-scenes 24] [--chunks 6] [--seed 0]
        [--plain-frames N] [--set KEY=VALUE ...] [--speed FACTOR] [--context-frames 9]

For ``num-scenes`` held-out scenes of one sprite moving in a straight line (left, right, up, down,
diagonal; scene seeds 2000, 2001, ... of the eval split, no events) prints the mean motion match
(`streamt1.metrics.sprites.motion_match`), detected share and the sprite's mean displacement along its
captioned direction (pixels; a jitter in place can match a direction, it does not travel) over the frames
after the context frames, for:

* ``render``: the world's own frames (the metric's ceiling);
* ``moving context``: ``chunks`` chunks generated after ``context-frames`` clean rendered frames (9: the sink
  and the window of the committed weights; a model with a wider window reads more of a longer context, one
  with a narrower window attends its sink and the last frames of it);
* ``still context``: the same after copies of the context's last rendered frame (the world paused): what the
  model's own first chunks give it, since they barely move (0.5 px per frame at speed 1);
* ``still, reversed``: the still context again, the caption naming the opposite direction (scenes moving
  left, right, up or down): a model that reads the caption's direction travels backwards here, one that only
  continues its context's velocity stands still in both still rows;
* ``plain``: plain generation of the whole video from the caption (the model's own sampling); with
  ``--plain-frames`` longer than the rows above, over that length, and its speed profile: the sprite's
  speed along its captioned direction as a share of its own speed, second by second (mean over the
  scenes, and the share of scenes where it goes at more than half its speed). ``--set``: config overrides
  for plain generation only, e.g. ``run.guided_chunks=4``.

Then each row's displacement chunk by chunk: whether a continuation keeps its context's speed or loses a
share of it with every chunk.

The chunks after a context are sampled with the model's own Euler schedule, every chunk attending to
the clean sink and window as in a stream (one forward over the sequence with the block-causal mask).
"""

from __future__ import annotations

import argparse
import dataclasses

import torch

from streamt1 import api
from streamt1.config import build_config
from streamt1.metrics.sprites import motion_match, track_sprite, wrapped_delta
from streamt1.models.causal_wan import block_causal_mask
from streamt1.models.generator import NULL_PROMPT
from streamt1.models.sampler import sample_few_step, warp_timesteps
from streamt1.sprites.captions import caption
from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR
from streamt1.sprites.world import (DIRECTIONS, FPS, FRAME_SIZE, LINEAR_SPEED, render_at, sample_scene,
                                    with_straight_speed)



def straight_scenes(count: int, num_frames: int) -> list:
    """Held-out scenes of one sprite moving in a straight line, no events."""
    scenes, seed = [], 2000
    while len(scenes) < count:
        scene = sample_scene(torch.Generator().manual_seed(seed), "eval", num_frames=num_frames, max_sprites=1,
                             max_events=0)
        seed += 1
        if scene.sprites[0].motion in DIRECTIONS:
            scenes.append(scene)
    return scenes


def motion_scores(videos: torch.Tensor, scenes: list) -> tuple[float, float]:
    """(mean motion match, mean detected share) of ``videos [N, T, 3, H, W]`` in [0, 1]."""
    motion, detected = [], []
    for video, scene in zip(videos, scenes):
        sprite = scene.sprites[0]
        track = track_sprite(video.float().clamp(0, 1).cpu(), sprite)
        motion.append(motion_match(track, sprite.motion, FPS))
        detected.append(float(track.detected.float().mean()))
    return sum(motion) / len(motion), sum(detected) / len(detected)


REVERSED = {"left": "right", "right": "left", "up": "down", "down": "up"}  # "diagonal" has no opposite word


def reversed_scene(scene):
    """``scene`` with its sprite moving the opposite way (its motion in :data:`REVERSED`)."""
    sprite = scene.sprites[0]
    return dataclasses.replace(scene, sprites=(dataclasses.replace(sprite, motion=REVERSED[sprite.motion]),))


def steps_along(video: torch.Tensor, scene) -> torch.Tensor:
    """The sprite's frame-to-frame centroid steps along its scene's direction ``[T-1]``, in frame widths."""
    sprite = scene.sprites[0]
    track = track_sprite(video.float().clamp(0, 1).cpu(), sprite)
    ex, ey = DIRECTIONS[sprite.motion]
    return wrapped_delta(track.cx.diff()) * ex + wrapped_delta(track.cy.diff()) * ey


def displacement(videos: torch.Tensor, scenes: list) -> torch.Tensor:
    """Each video's sprite displacement along its scene's direction, in pixels ``[N]``."""
    return torch.tensor([float(steps_along(video, scene).sum()) * FRAME_SIZE for video, scene in zip(videos, scenes)])


def chunk_profile(videos: torch.Tensor, scenes: list, chunk_frames: int) -> torch.Tensor:
    """Mean sprite displacement along the scene's direction, chunk by chunk after the first, in pixels
    ``[chunks - 1]``: from the last frame of one chunk to the last of the next (the first chunk's own
    start is the context's, which these rows do not share)."""
    rows = []
    for video, scene in zip(videos, scenes):
        place = torch.cat([torch.zeros(1), steps_along(video, scene).cumsum(0)]) * FRAME_SIZE
        rows.append(place[chunk_frames - 1:: chunk_frames].diff())
    return torch.stack(rows).mean(0)


def speed_profile(videos: torch.Tensor, scenes: list) -> torch.Tensor:
    """Each video's sprite speed along its captioned direction, as a share of its own speed, second by second
    ``[N, seconds]`` (frame-to-frame centroid steps averaged over each second)."""
    rows = []
    for video, scene in zip(videos, scenes):
        along = steps_along(video, scene)
        steps = along[: len(along) // FPS * FPS].view(-1, FPS).mean(1)
        rows.append(steps / (LINEAR_SPEED * scene.sprites[0].speed / FPS))
    return torch.stack(rows)


@torch.no_grad()
def continue_stream(model: SpritesVideoModel, context: torch.Tensor, captions: list[str], chunks: int,
                    seed: int, video_frames: int | None = None, still_guidance: float = 0.0,
                    guidance: float = 1.0) -> torch.Tensor:
    """``chunks`` chunks (frames ``[N, 3 * chunks, 3, H, W]``) generated after the clean frames ``context``, in a
    video of ``video_frames`` (the progress a model with a progress embedding reads; default: the context and the
    chunks). ``still_guidance`` w: each step's flow is ``flow + w * (flow - still)``, ``still`` the flow after the
    same past with every frame after the sink replaced by its last one (a guidance away from standing still, at
    twice the forwards: a continuation that keeps a share of its context's change per chunk keeps more).
    ``guidance`` s: classifier-free guidance of every step against the empty caption, ``null + s * (flow - null)``
    (1: none), applied before the still guidance."""
    stream, device = model.stream, context.device
    n, c = context.shape[0], stream.chunk_frames
    timesteps = warp_timesteps(stream.denoising_steps, stream.num_train_timesteps, stream.shift).to(device)
    latents = model.codec.encode(context)
    frames = video_frames or latents.shape[2] + chunks * c
    text = model.transformer.encode_text(model.text_encoder(captions), frames)
    null = model.transformer.encode_text(model.text_encoder([NULL_PROMPT] * n), frames) if guidance != 1 else None
    g = torch.Generator(device=device).manual_seed(seed)
    for _ in range(chunks):
        length = latents.shape[2] + c
        mask = block_causal_mask(length, c, stream.sink_frames, stream.window_frames, device=device)
        positions = torch.arange(length, device=device).repeat(n, 1)

        still = None
        if still_guidance:  # the same past frozen on its last frame after the sink, once per chunk
            still = latents.clone()
            still[:, :, stream.sink_frames:] = latents[:, :, -1:]

        def flow(x: torch.Tensor, t: torch.Tensor, past: torch.Tensor = latents,
                 still: torch.Tensor | None = still) -> torch.Tensor:
            times = torch.cat([torch.zeros(n, past.shape[2], device=device), t.expand(n, c)], 1)
            moving = model.transformer(torch.cat([past, x], 2), times, text, positions, mask)[:, :, -c:]
            if null is not None:
                unguided = model.transformer(torch.cat([past, x], 2), times, null, positions, mask)[:, :, -c:]
                moving = torch.lerp(unguided, moving, guidance)
            if still is None:
                return moving
            standing = model.transformer(torch.cat([still, x], 2), times, text, positions, mask)[:, :, -c:]
            return moving + still_guidance * (moving - standing)

        noise = torch.randn(latents[:, :, :c].shape, generator=g, device=device)
        latents = torch.cat([latents, sample_few_step(flow, noise, timesteps, stream.num_train_timesteps, None,
                                                      "euler")], 2)
    return model.codec.decode_chunk(latents[:, :, context.shape[1]:], None)[0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS_DIR))
    p.add_argument("--num-scenes", type=int, default=24)
    p.add_argument("--chunks", type=int, default=6, help="chunks generated after the context frames")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plain-frames", type=int, default=None,
                   help="length of the plain videos (default: the context frames plus the chunks)")
    p.add_argument("--context-frames", type=int, default=9,
                   help="clean rendered frames before the generated chunks: whole chunks, the sink and at least one "
                        "more (9: the committed weights' sink and window)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a config override for plain generation (repeatable)")
    p.add_argument("--speed", type=float, default=1.0,
                   help="the scenes' sprites at this multiple of their speed (the captions name no speed): whether a "
                        "continuation keeps a larger share of a faster context's speed")
    args = p.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = SpritesVideoModel.from_pretrained(args.weights).eval().to(device)
    context, chunk = args.context_frames, model.stream.chunk_frames
    if context % chunk or context < model.stream.sink_frames + chunk:
        p.error(f"--context-frames {context} must be whole chunks of {chunk} frames: the sink and at least one more")
    total = context + chunk * args.chunks
    plain_frames = max(total, args.plain_frames or total)
    scenes = [with_straight_speed(scene, args.speed) for scene in straight_scenes(args.num_scenes, plain_frames)]
    captions = [caption(scene) for scene in scenes]
    frames = torch.stack([render_at(scene, torch.arange(total)) for scene in scenes]).to(device)
    still = frames[:, context - 1: context].expand(-1, context, -1, -1, -1)
    config = build_config("none", None, args.set, weights=args.weights, device=str(device), num_frames=plain_frames)
    search = api.make_search(config, api.load_components(config))
    plain = torch.stack([search.run(c, plain_frames, args.seed, progress=False).frames for c in captions]).float() / 255
    turnable = [i for i, scene in enumerate(scenes) if scene.sprites[0].motion in REVERSED]
    turned = [caption(reversed_scene(scenes[i])) for i in turnable]
    videos = {
        "render": (frames[:, context:], range(len(scenes))),
        "moving context": (continue_stream(model, frames[:, :context], captions, args.chunks, args.seed),
                           range(len(scenes))),
        "still context": (continue_stream(model, still.contiguous(), captions, args.chunks, args.seed),
                          range(len(scenes))),
        "still, reversed": (continue_stream(model, still[turnable].contiguous(), turned, args.chunks, args.seed),
                            turnable),
        "plain": (plain[:, context:], range(len(scenes))),
    }
    print(f"{args.weights} ({len(scenes)} held-out scenes of one sprite moving in a straight line"
          f"{'' if args.speed == 1 else f' at {args.speed:g} times its speed'}, "
          f"{args.chunks} chunks after {context} frames, window {model.stream.window_frames}): motion match / detected, %; px along the "
          "scene's direction (mean, share > 0)")
    for name, (video, rows) in videos.items():
        own = [scenes[i] for i in rows]
        # the reversed row's match would be against the caption it was given: its displacement says it all
        scores = "    -     -" if name == "still, reversed" else "{:5.1f} {:5.1f}".format(
            *(100 * v for v in motion_scores(video, own)))
        px = displacement(video, own)
        print(f"  {name:16s} {scores} {float(px.mean()):+6.2f} {float((px > 0).float().mean()):4.2f}  "
              f"({len(own)} scenes, {video.shape[1]} frames)")
    chunk = model.stream.chunk_frames
    print(f"px along the scene's direction chunk by chunk ({chunk} frames each, from the second chunk on; a model "
          "that undershoots its context's speed slows down from chunk to chunk):")
    for name, (video, rows) in videos.items():
        profile = chunk_profile(video[:, : args.chunks * chunk], [scenes[i] for i in rows], chunk)
        print(f"  {name:16s} " + " ".join(f"{v:+5.2f}" for v in profile.tolist()))
    if plain_frames >= 2 * FPS:
        profile = speed_profile(plain, scenes)
        print(f"plain generation ({plain_frames} frames), speed along the caption as a share of the sprite's own, "
              "second by second:")
        print("  mean     " + " ".join(f"{v:5.2f}" for v in profile.mean(0).tolist()))
        print("  > half   " + " ".join(f"{v:5.2f}" for v in (profile > 0.5).float().mean(0).tolist()))


if __name__ == "__main__":
    main()
