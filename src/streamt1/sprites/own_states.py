"""The model's own chunks as training data: the states its sampler passes through, each paired with the
same drawing redrawn right.

From the caption alone the sampler has settled where each sprite goes by sigma ~0.8 and from there
keeps the outline its state shows (benchmarks/README.md, twenty-sixth session), so the captioned shape
has to be drawn from states that only the model's own sampling makes. Renders noised with fresh noise
never look like them: the blob is where the model put it, not where the scene has it, and its outline
is the model's. :func:`own_first_chunks` samples first chunks of train-split scenes as the model draws
them (its first-chunk schedule, its guidance), keeps a few states per chunk with sigma in OWN_SIGMAS,
and pairs them with a target (:func:`repaired`): the scene rendered with every sprite starting where the
drawing first shows it (:func:`drawn_centres`, found by colour as the metrics find it) and moving on as
the caption's trajectory does, in its captioned shape and size, over the captioned background.
:func:`own_rollouts` does the same for the chunks after the first, each sampled after the model's own
earlier chunks. ``TrainVideoConfig.own_first_share`` and ``own_window_share`` train on them.
"""

from __future__ import annotations

from typing import Callable, Iterator, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from streamt1.interfaces import Route, SinkLimits
from streamt1.metrics.sprites import SpriteTrack, track_sprite, wrapped_delta
from streamt1.models.causal_wan import TextKV
from streamt1.models.config import StreamConfig
from streamt1.models.generator import NULL_PROMPT
from streamt1.models.sampler import sample_steps, warp_timesteps
from streamt1.sprites.captions import caption
from streamt1.sprites.model import SpritesVideoModel, build_generator
from streamt1.sprites.training import scale_straight_moves
from streamt1.sprites.world import EVENT_BAND, FRAME_SIZE, SceneSpec, render_at, sample_scene, sprite_placements

# Noise band of the kept states: above it the state holds little of the drawing yet (the target is then
# far from anything the state shows), below it the outline is drawn and the target's correction term
# (1 - sigma) / sigma * (drawn - target) outweighs the noise (train.MISDRAWN_SIGMAS' reason).
OWN_SIGMAS = (0.55, 0.95)
# Where each chunk's redrawn sprite starts (drawn_centres): where the chunk itself shows it, or going on from
# where its context last showed it.
ANCHORS = ("chunk", "context")


def check_anchor(anchor: str, name: str = "anchor") -> None:
    """Refuse an anchor not in ANCHORS (before any drawing is made)."""
    if anchor not in ANCHORS:
        raise ValueError(f"{name}={anchor!r} must be one of {ANCHORS}")


class OwnFirstChunks(NamedTuple):
    """First chunks the model drew, on its device."""

    states: Tensor  # [N, S, C, chunk, h, w] sampler states, S per chunk
    sigmas: Tensor  # [N, S] their noise levels
    targets: Tensor  # [N, C, chunk, h, w] latents of the chunk redrawn right (:func:`repaired`)
    video_frames: Tensor  # [N] each video's length in frames (the sampler was told it)
    captions: list[str]
    found: float  # share of the visible sprites' frames in which the drawing showed the sprite

    def draw(self, count: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor, list[str]]:
        """``count`` random states: ``(x_t, sigma [count], target, video_frames [count], captions)``."""
        device = self.states.device
        items = torch.randint(len(self.captions), (count,), generator=generator, device=device)
        picks = torch.randint(self.states.shape[1], (count,), generator=generator, device=device)
        return (self.states[items, picks], self.sigmas[items, picks], self.targets[items], self.video_frames[items],
                [self.captions[i] for i in items.tolist()])


def blob_centres(mask: Tensor, radius: Tensor) -> tuple[Tensor, Tensor]:
    """Centres ``(x [T], y [T])``, as fractions of the frame, of the densest blob of each frame's soft
    ``mask [T, H, W]`` for a sprite of ``radius [T]`` (fractions of the width): the peak of the mask
    summed over a box about the sprite's size, refined to the mask's centroid within 1.5 radii of it
    (offsets wrap, as positions do). A model that draws a sprite twice gets the larger copy, where the
    centroid of both would fall between them."""
    t, h, w = mask.shape
    r = radius.float() * w  # pixels
    k = 2 * int(r.max().round()) + 1
    summed = F.avg_pool2d(F.pad(mask[:, None], (k // 2,) * 4, mode="circular"), k, stride=1)[:, 0]
    peak = summed.flatten(1).argmax(1)
    py, px = (peak // w + 0.5) / h, (peak % w + 0.5) / w
    gx, gy = (torch.arange(w) + 0.5) / w, (torch.arange(h) + 0.5) / h
    du = torch.remainder(gx[None, None, :] - px[:, None, None] + 0.5, 1.0) - 0.5  # [T, 1, W]
    dv = torch.remainder(gy[None, :, None] - py[:, None, None] + 0.5, 1.0) - 0.5  # [T, H, 1]
    near = mask * ((du * du + dv * dv) < (1.5 * radius.float()[:, None, None]) ** 2)
    total = near.flatten(1).sum(1).clamp(min=1e-6)
    x = px + (near * du).flatten(1).sum(1) / total
    y = py + (near * dv).flatten(1).sum(1) / total
    return torch.remainder(x, 1.0), torch.remainder(y, 1.0)


def sprite_tracks(frames: Tensor, scene: SceneSpec, t: Tensor) -> list[SpriteTrack | None]:
    """Per sprite of ``scene.all_sprites``, its track in ``frames [T, 3, H, W]`` (at frame times ``t``) as the
    metrics find it by colour; None for a sprite not visible in them."""
    return [track_sprite(frames, sprite) if bool(opacity.gt(0).any()) else None
            for sprite, _, _, _, opacity in sprite_placements(scene, t)]


def drawn_centres(tracks: list[SpriteTrack | None], scene: SceneSpec, t: Tensor,
                  segment: int | None = None, anchor: str = "chunk") -> list[tuple[Tensor, Tensor] | None]:
    """Per sprite of ``scene.all_sprites``, centres ``(x [T], y [T])`` that start where the drawing its
    ``tracks`` (:func:`sprite_tracks`, at frame times ``t``) come from first shows it (:func:`blob_centres`
    of its colour's mask, in the first frame where the metrics find it) and move on as the scene's
    trajectory does; None (the scene's own place) for a sprite not visible or never found. The drawing's
    own moves are not kept: the model's first chunks barely move, and a target that keeps them teaches
    the stream to stand still.

    With ``segment`` (a chunk's frames) every segment starts again where the drawing first shows the
    sprite in it, as each chunk of a stream is redrawn where that chunk drew it; a segment that does not
    show it goes on along the path before it (the scene's own, before the sprite was first found).

    With ``anchor="context"`` a segment instead goes on from where the frames before it last show the sprite
    (the first segment, or one after frames that never show it, still starts where it shows it): the
    target of a chunk is then the continuation of its context, which a sampler state at high noise can
    predict; where the chunk itself will land, it does not show yet."""
    check_anchor(anchor)
    segment = segment or len(t)
    centres: list[tuple[Tensor, Tensor] | None] = []
    for (_, cx, cy, radius, _), track in zip(sprite_placements(scene, t), tracks):
        if track is None or not bool(track.detected.any()):
            centres.append(None)
            continue
        start = (0, cx[0], cy[0])  # (frame, x, y) the path goes on from
        last = None  # the last frame before the segment that shows the sprite
        xs, ys = [], []
        for begin in range(0, len(t), segment):
            part = slice(begin, begin + segment)
            seen = track.detected[part].nonzero()
            k = begin + int(seen[0, 0]) if len(seen) else None
            if anchor == "context" and last is not None:
                k = last
            if k is not None:
                x, y = blob_centres(track.mask[k:k + 1], radius[k:k + 1])
                start = (k, x[0], y[0])
            if len(seen):
                last = begin + int(seen[-1, 0])
            k, ax, ay = start
            xs.append(torch.remainder(ax + wrapped_delta(cx[part] - cx[k]), 1.0))
            ys.append(torch.remainder(ay + wrapped_delta(cy[part] - cy[k]), 1.0))
        centres.append((torch.cat(xs), torch.cat(ys)))
    return centres


def repaired(frames: Tensor, scene: SceneSpec, t: Tensor, segment: int | None = None,
             tracks: list[SpriteTrack | None] | None = None, anchor: str = "chunk") -> Tensor:
    """``frames [T, 3, H, W]`` in [0, 1] redrawn right: the scene's render with every sprite where the
    frames show it (:func:`drawn_centres`, per ``segment`` of frames, each started at its ``anchor``;
    ``tracks``: their :func:`sprite_tracks` where already made)."""
    tracks = sprite_tracks(frames, scene, t) if tracks is None else tracks
    return render_at(scene, t, frames.shape[-1], drawn_centres(tracks, scene, t, segment, anchor))


def found_share(tracks: list[SpriteTrack | None], scene: SceneSpec, t: Tensor) -> tuple[int, int]:
    """(frames in which a visible sprite is found, visible sprites' frames) of a drawing's :func:`sprite_tracks`."""
    found = visible = 0
    for (_, _, _, _, opacity), track in zip(sprite_placements(scene, t), tracks):
        shown = opacity.gt(0)
        found += 0 if track is None else int((track.detected & shown).sum())
        visible += int(shown.sum())
    return found, visible


class _Draws(NamedTuple):
    """What a set of own chunks is drawn for: per item, its video's length, scene, caption and generator."""

    lengths: Tensor
    scenes: list[SceneSpec]
    captions: list[str]
    generators: list[torch.Generator]  # each item's noise and kept states: the batch size changes nothing


def _draws(count: int, video_frames: tuple[int, int], generator: torch.Generator,
           straight_speeds: tuple[float, float], event_band: tuple[float, float]) -> _Draws:
    lengths = torch.randint(video_frames[0], video_frames[1] + 1, (count,), generator=generator)
    scenes = [scale_straight_moves(sample_scene(generator, "train", num_frames=int(length), event_band=event_band),
                                   generator, straight_speeds) for length in lengths]
    captions = [caption(scene, generator) for scene in scenes]
    seeds = torch.randint(2**62, (count,), generator=generator)
    return _Draws(lengths, scenes, captions, [torch.Generator().manual_seed(int(s)) for s in seeds])


def _sample_chunk(flow: Callable[[Tensor, Tensor, TextKV], Tensor], text: TextKV, null: TextKV | None,
                  timesteps: Tensor, stream: StreamConfig, chunk: int, generators: list[torch.Generator],
                  shape: tuple[int, ...], device: torch.device) -> tuple[Tensor, list[tuple[float, Tensor]]]:
    """One chunk of every item sampled as the stream samples chunk ``chunk`` (its schedule ``timesteps``, its
    guidance by the ``null`` condition), from noise of the items' generators: its x0 and the states
    ``(sigma, x_t)`` of the steps with sigma in OWN_SIGMAS. ``flow(x_t, t [B, chunk_frames], text)``."""
    n_train, (lo, hi) = stream.num_train_timesteps, OWN_SIGMAS
    recorded: list[tuple[float, Tensor]] = []

    def predict_flow(x: Tensor, t: Tensor) -> Tensor:
        sigma = float(t) / n_train
        if lo <= sigma <= hi:
            recorded.append((sigma, x))
        steps = t.to(device).expand(x.shape[0], stream.chunk_frames)
        flow_text = flow(x, steps, text).float()
        if null is None or not stream.guides_step(chunk, float(t)):
            return flow_text
        return torch.lerp(flow(x, steps, null).float(), flow_text, stream.guidance_scale)

    def draw_noise(_: int = 0) -> Tensor:  # the start, and fresh noise per step when eta > 0
        return torch.stack([torch.randn(shape, generator=g) for g in generators]).to(device)

    eta = stream.first_chunk_eta if chunk == 0 else 0.0
    # the timesteps stay on the host, as the generator keeps them: no device sync per step
    x0, _ = sample_steps(predict_flow, draw_noise(), timesteps, n_train, draw_noise, stream.sampler, 0,
                         len(timesteps), eta)
    return x0, recorded


def _conditions(model: SpritesVideoModel, captions: list[str], lengths: Tensor,
                guided: bool) -> tuple[TextKV, TextKV | None]:
    encode = model.transformer.encode_text
    null = encode(model.text_encoder([NULL_PROMPT] * len(captions)), lengths) if guided else None
    return encode(model.text_encoder(captions), lengths), null


_Batch = tuple[list[SceneSpec], list[torch.Generator], Tensor, TextKV, TextKV | None, Tensor]


def _batches(model: SpritesVideoModel, draws: _Draws, batch_size: int, times: Tensor) -> Iterator[_Batch]:
    """The draws in batches on the model's device: (scenes, generators, video lengths, the captions' condition,
    guidance's null condition of the first chunk or None, frame positions ``times``)."""
    device = model.transformer.device
    for begin in range(0, len(draws.scenes), batch_size):
        items = slice(begin, begin + batch_size)
        lengths = draws.lengths[items].to(device)
        text, null = _conditions(model, draws.captions[items], lengths, model.stream.guides(0))
        yield (draws.scenes[items], draws.generators[items], lengths, text, null,
               times.to(device).repeat(len(lengths), 1))


def _redrawn(model: SpritesVideoModel, video: Tensor, scenes: list[SceneSpec], times: Tensor,
             segment: int, anchor: str = "chunk") -> tuple[Tensor, int, int]:
    """The latents of every item's drawing ``video [N, T, 3, H, W]`` (frame times ``times``) redrawn right
    per ``segment`` of frames from its ``anchor`` (:func:`repaired`), and (found, visible) sprite frames of
    the drawings."""
    video = video.float().clamp(0, 1).cpu()
    targets, found, visible = [], 0, 0
    for drawn, scene in zip(video, scenes):
        tracks = sprite_tracks(drawn, scene, times)  # once, for the target and the count
        targets.append(repaired(drawn, scene, times, segment, tracks, anchor))
        seen, shown = found_share(tracks, scene, times)
        found, visible = found + seen, visible + shown
    return model.codec.encode(torch.stack(targets).to(model.transformer.device)), found, visible


@torch.no_grad()
def own_first_chunks(model: SpritesVideoModel, count: int, video_frames: tuple[int, int], generator: torch.Generator,
                     states_per_chunk: int = 4, batch_size: int = 256,
                     straight_speeds: tuple[float, float] = (1.0, 1.0),
                     event_band: tuple[float, float] = EVENT_BAND) -> OwnFirstChunks:
    """``count`` first chunks of train-split scenes (videos of ``video_frames`` = (fewest, most) frames,
    varied captions, all drawn from the CPU ``generator``; straight moves at ``straight_speeds``, as
    :func:`~streamt1.sprites.training.scale_straight_moves` draws them; events in ``event_band`` of their slots,
    as :func:`~streamt1.sprites.world.sample_scene` places them) as ``model`` samples them from the caption
    alone, with ``states_per_chunk`` of the sampler's states in OWN_SIGMAS each, chosen at random."""
    stream, device = model.stream, model.transformer.device
    c, n_train = stream.chunk_frames, stream.num_train_timesteps
    timesteps = warp_timesteps(stream.first_chunk_steps, n_train, stream.shift)
    in_band = sum(OWN_SIGMAS[0] <= float(t) / n_train <= OWN_SIGMAS[1] for t in timesteps)
    if in_band < states_per_chunk:
        raise ValueError(f"the first chunk's schedule has {in_band} steps with sigma in {OWN_SIGMAS}; "
                         f"states_per_chunk={states_per_chunk} needs at least that many")
    draws, times = _draws(count, video_frames, generator, straight_speeds, event_band), torch.arange(c)
    side = FRAME_SIZE // model.codec.spatial_factor
    parts: dict[str, list] = {"states": [], "sigmas": [], "targets": [], "video_frames": []}
    found = visible = 0
    for scenes, generators, lengths, text, null, positions in _batches(model, draws, batch_size, times):
        n = len(scenes)
        x0, recorded = _sample_chunk(lambda x, t, cond: model.transformer(x, t, cond, positions, None), text, null,
                                     timesteps, stream, 0, generators, (model.transformer.config.in_dim, c, side, side),
                                     device)
        targets, seen, shown = _redrawn(model, model.codec.decode_chunk(x0, None)[0], scenes, times, c)
        found, visible = found + seen, visible + shown
        states = torch.stack([x.to(model.transformer.dtype) for _, x in recorded], 1)  # [n, band, C, c, h, w]
        sigmas = torch.tensor([s for s, _ in recorded], device=device).expand(n, -1)
        keep = torch.stack([torch.rand(states.shape[1], generator=g).argsort()[:states_per_chunk]
                            for g in generators]).to(device)
        parts["states"].append(states[torch.arange(n, device=device)[:, None], keep])
        parts["sigmas"].append(sigmas.gather(1, keep))
        parts["targets"].append(targets.to(states.dtype))
        parts["video_frames"].append(lengths)
    return OwnFirstChunks(*(torch.cat(parts[k]) for k in ("states", "sigmas", "targets", "video_frames")),
                          draws.captions, found / max(visible, 1))


class OwnRollouts(NamedTuple):
    """The model's own starts of videos, chunk by chunk, on its device: the clean frames each chunk was
    sampled after, one sampler state per chunk, and every chunk redrawn right."""

    context: Tensor  # [N, C, F, h, w] the model's own clean frames
    states: Tensor  # [N, C, F, h, w] one sampler state per chunk, after the chunks before it
    sigmas: Tensor  # [N, chunks] their noise levels
    targets: Tensor  # [N, C, F, h, w] each chunk redrawn right (:func:`repaired`)
    video_frames: Tensor  # [N]
    captions: list[str]
    found: float  # share of the visible sprites' frames in which the drawing showed the sprite

    def draw(self, count: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, list[str]]:
        """``count`` random items: ``(context, x_t, sigmas [count, chunks], target, video_frames, captions)``."""
        items = torch.randint(len(self.captions), (count,), generator=generator, device=self.states.device)
        return (self.context[items], self.states[items], self.sigmas[items], self.targets[items],
                self.video_frames[items], [self.captions[i] for i in items.tolist()])


def later_steps_in_band(stream: StreamConfig, band: tuple[float, float]) -> list[int]:
    """The steps of the later chunks' schedule whose sigma lies in ``band``; none is an error (checked before
    a training run draws anything)."""
    schedule = warp_timesteps(stream.denoising_steps, stream.num_train_timesteps, stream.shift)
    steps = [s for s, t in enumerate(schedule) if band[0] <= float(t) / stream.num_train_timesteps <= band[1]]
    if not steps:
        raise ValueError(f"the later chunks' schedule has no step with sigma in {tuple(band)}: its sigmas are "
                         + ", ".join(f"{float(t) / stream.num_train_timesteps:.3f}" for t in schedule))
    return steps


@torch.no_grad()
def own_rollouts(model: SpritesVideoModel, count: int, frames: int, video_frames: tuple[int, int],
                 generator: torch.Generator, batch_size: int = 128,
                 band: tuple[float, float] = OWN_SIGMAS, anchor: str = "chunk",
                 straight_speeds: tuple[float, float] = (1.0, 1.0),
                 event_band: tuple[float, float] = EVENT_BAND) -> OwnRollouts:
    """``count`` starts of videos (``frames`` frames, from position 0) of train-split scenes as ``model``
    streams them from the caption: the first chunk as :func:`own_first_chunks` draws it, each later one as
    plain generation does, through the streaming generator and its cache (sink and window) after the model's
    own earlier chunks. One state per later chunk with sigma in ``band`` is kept, chosen at random (the first
    chunk's in OWN_SIGMAS, as :func:`own_first_chunks` keeps them); every chunk is redrawn right from its
    ``anchor``: where it drew the sprites, or going on from where its context drew them (:func:`drawn_centres`
    per chunk). ``straight_speeds``, ``event_band``: as in :func:`own_first_chunks`."""
    stream, device = model.stream, model.transformer.device
    c, n_train = stream.chunk_frames, stream.num_train_timesteps
    chunks = frames // c
    if frames % c or chunks < 2:
        raise ValueError(f"frames={frames} must be two or more whole chunks of {c}")
    if any(stream.guides(k) for k in range(1, chunks)):
        raise ValueError("own rollouts sample the chunks after the first unguided, as the Sprites models do; "
                         f"this model guides {stream.guided_chunks or 'every'} chunks")
    check_anchor(anchor)
    in_band = later_steps_in_band(stream, band)
    # the sampler pauses only where a state may be kept: at each step in the band, and after the last one
    pauses = sorted({0, *in_band, in_band[-1] + 1, len(stream.denoising_steps)})
    streamer = build_generator(model, device=device, dtype=model.transformer.dtype)
    first_schedule = warp_timesteps(stream.first_chunk_steps, n_train, stream.shift)
    limits = SinkLimits(stream.sink_frames, 0.0)  # plain streaming: chunks leaving the window are dropped
    draws, times = _draws(count, video_frames, generator, straight_speeds, event_band), torch.arange(frames)
    side = FRAME_SIZE // model.codec.spatial_factor
    parts: dict[str, list] = {"context": [], "states": [], "sigmas": [], "targets": [], "video_frames": []}
    found = visible = 0
    for scenes, generators, lengths, text, null, positions in _batches(model, draws, batch_size, times):
        n = len(scenes)
        rows = torch.arange(n)
        context = torch.zeros(n, model.transformer.config.in_dim, frames, side, side, device=device)
        states, sigmas = torch.zeros_like(context), torch.zeros(n, chunks, device=device)
        state, video = streamer.initial_state(text, n), []
        for k in range(chunks):
            start, end = k * c, (k + 1) * c
            if k == 0:  # with its sub-steps' states, as own_first_chunks draws it
                x0, recorded = _sample_chunk(lambda x, t, cond: model.transformer(x, t, cond, positions[:, :c], None),
                                             text, null, first_schedule, stream, k, generators,
                                             (context.shape[1], c, side, side), device)
            else:
                x0 = torch.stack([torch.randn(context.shape[1:2] + (c, side, side), generator=g)
                                  for g in generators]).to(device)
                recorded = []
                for begin, end_step in zip(pauses, pauses[1:]):  # each call copies the pasts once: few calls
                    if begin in in_band:
                        recorded.append((float(streamer.timesteps[begin]) / n_train, x0))
                    x0, _ = streamer.denoise_steps(state, rows, x0, generators, begin, end_step)
            context[:, :, start:end] = x0
            pick = torch.stack([torch.randint(len(recorded), (), generator=g) for g in generators]).to(device)
            states[:, :, start:end] = torch.stack([x for _, x in recorded])[pick, torch.arange(n, device=device)]
            sigmas[:, k] = torch.tensor([s for s, _ in recorded], device=device)[pick]
            decoded = streamer.decode(state, rows, x0)
            video.append(decoded.frames)
            if k + 1 < chunks:
                state, _ = streamer.commit(state, rows, x0, decoded, [Route.DISCARD] * n, limits)
        targets, seen, shown = _redrawn(model, torch.cat(video, 1), scenes, times, c, anchor)
        found, visible = found + seen, visible + shown
        dtype = model.transformer.dtype
        parts["context"].append(context.to(dtype))
        parts["states"].append(states.to(dtype))
        parts["sigmas"].append(sigmas)
        parts["targets"].append(targets.to(dtype))
        parts["video_frames"].append(lengths)
    return OwnRollouts(*(torch.cat(parts[k]) for k in ("context", "states", "sigmas", "targets", "video_frames")),
                       draws.captions, found / max(visible, 1))
