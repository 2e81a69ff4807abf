"""The model's own first chunks as training data: the states its sampler passes through, each paired
with the same drawing redrawn right.

From the caption alone the sampler has settled where each sprite goes by sigma ~0.8 and from there
keeps the outline its state shows (benchmarks/README.md, twenty-sixth session), so the captioned shape
has to be drawn from states that only the model's own sampling makes. Renders noised with fresh noise
never look like them: the blob is where the model put it, not where the scene has it, and its outline
is the model's. :func:`own_first_chunks` samples first chunks of train-split scenes as the model draws
them (its first-chunk schedule, its guidance), keeps a few states per chunk with sigma in OWN_SIGMAS,
and pairs them with a target: the scene rendered with every sprite at the centre where the model drew
it (:func:`drawn_centres`, found by colour as the metrics find it), in its captioned shape and size,
over the captioned background. ``TrainVideoConfig.own_first_share`` trains on them.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from streamt1.metrics.sprites import track_sprite, wrapped_delta
from streamt1.models.generator import NULL_PROMPT
from streamt1.models.sampler import sample_steps, warp_timesteps
from streamt1.sprites.captions import caption
from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.world import FRAME_SIZE, SceneSpec, render_at, sample_scene, sprite_placements

# Noise band of the kept states: above it the state holds little of the drawing yet (the target is then
# far from anything the state shows), below it the outline is drawn and the target's correction term
# (1 - sigma) / sigma * (drawn - target) outweighs the noise (train.MISDRAWN_SIGMAS' reason).
OWN_SIGMAS = (0.55, 0.95)


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
    grid = (torch.arange(w) + 0.5) / w
    du = torch.remainder(grid[None, None, :] - px[:, None, None] + 0.5, 1.0) - 0.5  # [T, 1, W]
    dv = torch.remainder(grid[None, :, None] - py[:, None, None] + 0.5, 1.0) - 0.5  # [T, H, 1]
    near = mask * ((du * du + dv * dv) < (1.5 * radius.float()[:, None, None]) ** 2)
    total = near.flatten(1).sum(1).clamp(min=1e-6)
    x = px + (near * du).flatten(1).sum(1) / total
    y = py + (near * dv).flatten(1).sum(1) / total
    return torch.remainder(x, 1.0), torch.remainder(y, 1.0)


def drawn_centres(frames: Tensor, scene: SceneSpec, t: Tensor) -> list[tuple[Tensor, Tensor] | None]:
    """Per sprite of ``scene.all_sprites``, centres ``(x [T], y [T])`` that start where ``frames [T, 3,
    H, W]`` (at frame times ``t``) first show it (:func:`blob_centres` of its colour's mask, in the first
    frame where the metrics find it) and move on as the scene's trajectory does; None (the scene's own
    place) for a sprite not visible or never found. The drawing's own moves are not kept: the model's
    first chunks barely move, and a target that keeps them teaches the stream to stand still."""
    centres: list[tuple[Tensor, Tensor] | None] = []
    for sprite, cx, cy, radius, opacity in sprite_placements(scene, t):
        track = track_sprite(frames, sprite) if bool(opacity.gt(0).any()) else None
        if track is None or not bool(track.detected.any()):
            centres.append(None)
            continue
        x, y = blob_centres(track.mask, radius)
        first = int(track.detected.nonzero()[0, 0])
        centres.append(tuple(torch.remainder(drawn[first] + wrapped_delta(own - own[first]), 1.0)
                             for drawn, own in ((x, cx), (y, cy))))
    return centres


def repaired(frames: Tensor, scene: SceneSpec, t: Tensor) -> Tensor:
    """``frames [T, 3, H, W]`` in [0, 1] redrawn right: the scene's render with every sprite where the
    frames show it (:func:`drawn_centres`)."""
    return render_at(scene, t, frames.shape[-1], drawn_centres(frames, scene, t))


def found_share(frames: Tensor, scene: SceneSpec, t: Tensor) -> tuple[int, int]:
    """(frames in which a visible sprite is found, visible sprites' frames) of ``frames``."""
    found = total = 0
    for sprite, _, _, _, opacity in sprite_placements(scene, t):
        visible = opacity.gt(0)
        found += int((track_sprite(frames, sprite).detected & visible).sum())
        total += int(visible.sum())
    return found, total


@torch.no_grad()
def own_first_chunks(model: SpritesVideoModel, count: int, video_frames: tuple[int, int], generator: torch.Generator,
                     states_per_chunk: int = 4, batch_size: int = 256) -> OwnFirstChunks:
    """``count`` first chunks of train-split scenes (videos of ``video_frames`` = (fewest, most) frames,
    varied captions, all drawn from the CPU ``generator``) as ``model`` samples them from the caption
    alone, with ``states_per_chunk`` of the sampler's states in OWN_SIGMAS each, chosen at random."""
    stream, device = model.stream, model.transformer.device
    c, n_train = stream.chunk_frames, stream.num_train_timesteps
    timesteps = warp_timesteps(stream.first_chunk_steps, n_train, stream.shift)
    lo, hi = OWN_SIGMAS
    band = {float(t) for t in timesteps if lo <= float(t) / n_train <= hi}
    if len(band) < states_per_chunk:
        raise ValueError(f"the first chunk's schedule has {len(band)} steps with sigma in {OWN_SIGMAS}; "
                         f"states_per_chunk={states_per_chunk} needs at least that many")
    times = torch.arange(c)
    lengths_all = torch.randint(video_frames[0], video_frames[1] + 1, (count,), generator=generator)
    scenes_all = [sample_scene(generator, "train", num_frames=int(length)) for length in lengths_all]
    captions_all = [caption(scene, generator) for scene in scenes_all]
    # each chunk's noise and kept states from its own generator: the batch size changes nothing
    item_generators = [torch.Generator().manual_seed(int(s))
                       for s in torch.randint(2**62, (count,), generator=generator)]
    side = FRAME_SIZE // model.codec.spatial_factor
    parts: dict[str, list] = {"states": [], "sigmas": [], "targets": [], "video_frames": [], "captions": []}
    found = total = 0
    for first in range(0, count, batch_size):
        n = min(batch_size, count - first)
        scenes, captions = scenes_all[first:first + n], captions_all[first:first + n]
        generators = item_generators[first:first + n]
        lengths = lengths_all[first:first + n].to(device)
        text = model.transformer.encode_text(model.text_encoder(captions), lengths)
        null = model.transformer.encode_text(model.text_encoder([NULL_PROMPT] * n), lengths)
        positions = times.to(device).repeat(n, 1)
        recorded: list[tuple[float, Tensor]] = []

        def predict_flow(x: Tensor, t: Tensor) -> Tensor:
            if float(t) in band:
                recorded.append((float(t) / n_train, x.to(model.transformer.dtype)))
            steps = t.to(device).expand(n, c)
            flow = model.transformer(x, steps, text, positions, None).float()
            if not stream.guides_step(0, float(t)):
                return flow
            return torch.lerp(model.transformer(x, steps, null, positions, None).float(), flow, stream.guidance_scale)

        item_shape = (model.transformer.config.in_dim, c, side, side)

        def draw_noise(_: int = 0) -> Tensor:  # the start, and fresh noise per step when eta > 0
            return torch.stack([torch.randn(item_shape, generator=g) for g in generators]).to(device)

        noise = draw_noise()
        x0, _ = sample_steps(predict_flow, noise, timesteps.to(device), n_train, draw_noise, stream.sampler, 0,
                             len(timesteps), stream.first_chunk_eta)
        frames = model.codec.decode_chunk(x0, None)[0].float().clamp(0, 1).cpu()
        targets = []
        for video, scene in zip(frames, scenes):
            targets.append(repaired(video, scene, times))
            f, t = found_share(video, scene, times)
            found, total = found + f, total + t
        states = torch.stack([x for _, x in recorded], 1)  # [n, band, C, c, h, w]
        sigmas = torch.tensor([s for s, _ in recorded], device=device).expand(n, -1)
        keep = torch.stack([torch.rand(states.shape[1], generator=g).argsort()[:states_per_chunk]
                            for g in generators]).to(device)
        parts["states"].append(states[torch.arange(n, device=device)[:, None], keep])
        parts["sigmas"].append(sigmas.gather(1, keep))
        parts["targets"].append(model.codec.encode(torch.stack(targets).to(device)).to(states.dtype))
        parts["video_frames"].append(lengths)
        parts["captions"].extend(captions)
    return OwnFirstChunks(*(torch.cat(parts[k]) for k in ("states", "sigmas", "targets", "video_frames")),
                          parts["captions"], found / max(total, 1))
