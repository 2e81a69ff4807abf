"""The causal Wan family behind :class:`streamt1.interfaces.StreamingGenerator`.

Per chunk: ``denoise`` runs the few-step sampler for every candidate against its parent's cache
(read only); ``decode`` continues each parent's decoder stream; ``commit`` keeps the survivors: it
runs the clean (t = 0) pass for the survivors only, then rebuilds the cache in place (survivors'
rows gathered, the chunk leaving the window routed into the sink under the search's
:class:`~streamt1.interfaces.SinkLimits`, the new chunk's K/V appended) and returns the routes taken.
``commit`` consumes the state it is given (the engine never reuses it): its cache memory is reused
layer by layer, and any later use of that state raises.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from streamt1.interfaces import ChunkSpec, Decoded, Route, SinkLimits
from streamt1.models.causal_wan import CausalWan, TextKV, host_to_device, rope_frame_angles
from streamt1.models.codec import LatentCodec
from streamt1.models.config import StreamConfig
from streamt1.models.kv_cache import KVCache
from streamt1.models.sampler import sample_steps, warp_timesteps

logger = logging.getLogger(__name__)

TextEncoder = Callable[[list[str]], Tensor]  # prompts -> [B, text_len, text_dim], padding zeroed
NULL_PROMPT = ""  # the null condition of classifier-free guidance (StreamConfig.guidance_scale)


@dataclass(frozen=True)
class WanHistoryState:
    """Histories of one prompt: KV cache, decoder streams and the shared prompt K/V."""

    cache: KVCache
    text: TextKV  # batch 1, shared by every history and candidate
    decoder_cache: Any  # the codec's per-history streaming state

    @property
    def num_histories(self) -> int:
        return self.cache.num_histories

    @property
    def num_chunks(self) -> int:
        """Chunks committed so far."""
        return self.cache.next_frame // self.cache.stream.chunk_frames

    def sink_frames(self) -> list[int]:
        return self.cache.sink_frames()


class CausalWanGenerator:
    """Streams a :class:`CausalWan` chunk by chunk through a :class:`LatentCodec`."""

    def __init__(
        self,
        model: CausalWan,
        stream: StreamConfig,
        text_encoder: TextEncoder,
        codec: LatentCodec,
        latent_size: tuple[int, int],
        fps: float,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if codec.latent_channels != model.config.in_dim:
            raise ValueError(
                f"codec gives {codec.latent_channels} latent channels, the model takes {model.config.in_dim}"
            )
        if fps <= 0:
            raise ValueError(f"fps={fps} is invalid: expected > 0")
        h, w = latent_size
        self.tokens_per_frame = model.config.tokens_per_frame(h, w)  # validates the patch divisibility
        self.model = model.to(device=device, dtype=dtype).eval()
        self.stream = stream
        self.text_encoder: TextEncoder | None = text_encoder
        self._kept_prompts: dict[str, Tensor] = {}  # prompt -> encoder states [1, L, D] on the CPU
        self._null: tuple[int | None, TextKV] | None = None  # (video frames, the guidance's null condition)
        self._still: tuple[KVCache, KVCache] | None = None  # (a state's cache, its past standing still)
        self.codec = codec
        self.latent_size = (h, w)
        self.fps = float(fps)
        self.device = torch.device(device)
        # Warped timesteps [S], float64 on the host: reading one never syncs a device.
        self.timesteps = warp_timesteps(stream.denoising_steps, stream.num_train_timesteps, stream.shift)
        # The first chunk's finer schedule: step i of the engine is sub-steps i*k .. (i+1)*k - 1 here.
        self.first_timesteps = warp_timesteps(stream.first_chunk_steps, stream.num_train_timesteps, stream.shift)

    def compile(self, mode: str | None = None, backend: Any = "inductor") -> None:
        """Compile the transformer's blocks (:meth:`CausalWan.compile_blocks`); the first chunks pay
        the compilation, outputs agree with eager to the compute dtype's rounding."""
        self.model.compile_blocks(mode, backend)

    def set_attention(self, choice: str) -> None:
        """Prefer an SDPA kernel in every chunk forward (``run.attention``; :func:`sdpa_order`)."""
        self.model.set_attention(choice)

    @property
    def spec(self) -> ChunkSpec:
        c, (h, w) = self.stream.chunk_frames, self.latent_size
        return ChunkSpec(
            latent_shape=(self.model.config.in_dim, c, h, w),
            frames_per_chunk=self.codec.frames_per_chunk(c),
            first_chunk_frames=self.codec.first_chunk_frames(c),
            height=h * self.codec.spatial_factor,
            width=w * self.codec.spatial_factor,
            fps=self.fps,
        )

    @torch.no_grad()
    def encode_prompt(self, prompt: str, num_frames: int | None = None) -> TextKV:
        """The prompt's condition; ``num_frames`` (the video's latent frames) for a model conditioned on
        the video's length (``WanConfig.progress_embedding``), which refuses None."""
        states = self._kept_prompts.get(prompt)
        if states is None:
            if self.text_encoder is None:
                raise ValueError(f"prompt {prompt!r} was not kept before the text encoder was released: "
                                 "pass every prompt to keep_prompts first")
            states = self.text_encoder([prompt])  # [1, text_len, text_dim]
        return self.model.encode_text(states, num_frames)

    def _null_condition(self, condition: TextKV) -> TextKV:
        """The guidance's null condition for a video as long as ``condition``'s."""
        frames = None if condition.video_frames is None else int(condition.video_frames[0])
        if self._null is None or self._null[0] != frames:
            self._null = (frames, self.encode_prompt(NULL_PROMPT, frames))
        return self._null[1]

    @torch.no_grad()
    def keep_prompts(self, prompts: Sequence[str]) -> None:
        """Encode ``prompts`` now and keep the encoder's states on the CPU (umT5-XXL: 4 MB a prompt,
        its cross-attention K/V would be 24x that), so the text encoder can be released."""
        rejected: list[tuple[str, ValueError]] = []  # a closed vocabulary's refusals, all in one error
        for prompt in [*prompts, NULL_PROMPT] if self.stream.guidance_scale != 1 else prompts:
            if prompt not in self._kept_prompts:
                if self.text_encoder is None:
                    raise ValueError("the text encoder was released: prompts can no longer be encoded")
                try:
                    self._kept_prompts[prompt] = self.text_encoder([prompt]).cpu()
                except ValueError as err:
                    rejected.append((prompt, err))
        if len(rejected) == 1:
            raise rejected[0][1]
        if rejected:
            names = ", ".join(repr(prompt) for prompt, _ in rejected)
            raise ValueError(f"{len(rejected)} prompts cannot be encoded ({names}); the first: {rejected[0][1]}")

    def release_text_encoder(self) -> None:
        """Drop the text encoder (umT5-XXL is 11 GB in bf16); kept prompts still encode."""
        self.text_encoder = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def initial_state(self, condition: TextKV, num_histories: int) -> WanHistoryState:
        config = self.model.config
        cache = KVCache.empty(
            num_histories, config.num_layers, config.num_heads, config.head_dim, self.tokens_per_frame,
            self.stream, device=self.device, dtype=self.model.dtype, frame_angles=rope_frame_angles(config),
            latent_shape=(config.in_dim, *self.latent_size),  # clean latents, re-run at a prompt switch
        )
        return WanHistoryState(cache, condition, self.codec.initial_cache(num_histories))

    @torch.no_grad()
    def switch_prompt(self, state: WanHistoryState, condition: TextKV) -> WanHistoryState:
        """LongLive's re-cache after a switch, for every history in one batched pass.

        The window's committed clean frames are re-run (t = 0) under the new prompt at their own
        frames, block-causally (each chunk attends the sink, the window chunks before it and itself),
        and their K/V replace the old ones. With ``global_sink`` the sink keeps the first prompt's
        K/V (LongLive's default) and the window attends it as it is; without it the sink segments are
        re-run too, each from the clean chunk that made it (EMA blends into a segment are dropped:
        they were K/V of the old prompt).
        """
        cache = state.cache
        start = cache.sink_capacity if self.stream.global_sink else 0
        if start == cache.positions.shape[1]:  # nothing committed, or only the kept sink: the new prompt is all there is
            return dataclasses.replace(state, text=condition)
        cache = self._rerun(cache, condition, start, cache.latents[:, start:])
        logger.debug("re-cached frame slots %d.. of %d histories under the new prompt", start, cache.num_histories)
        return dataclasses.replace(state, cache=cache, text=condition)

    def _rerun(self, cache: KVCache, condition: TextKV, start: int, latents: Tensor) -> KVCache:
        """``cache`` with the K/V of frame slots ``start ..`` made again from the clean ``latents``
        ``[B, F - start, C, H, W]`` under ``condition``: a clean (t = 0) pass per chunk at the slots' own
        frames, block-causal (each chunk attends the slots before ``start``, the chunks re-run before it and
        itself). One chunk per pass, as the stream made them: block-causal attention needs no mask beyond
        sink padding, and the mask stays one chunk's size. A new cache; ``cache`` is left as it was."""
        c, frames = self.stream.chunk_frames, cache.positions.shape[1]
        b, cut = cache.num_histories, start * cache.tokens_per_frame
        layers = [cache.layer(i) for i in range(cache.num_layers)]
        keys, values = [k[:, :cut] for k, _ in layers], [v[:, :cut] for _, v in layers]
        t0 = torch.zeros(b, c, device=self.device)
        for first in range(start, frames, c):  # sink slots precede the window, in frame order
            stop = first + c
            mask = cache.valid[:, None, :stop].expand(b, c, stop) if cache.has_padding else None
            chunk = latents[:, first - start:stop - start].transpose(1, 2).to(self.device)  # [B, C, c, H, W]
            past = list(zip(keys, values)) if first else None
            out = self.model.forward_frames(chunk, t0, condition, cache.positions[:, first:stop], mask, past)
            keys = [torch.cat([k, new], 1) for k, new in zip(keys, out.keys)]
            values = [torch.cat([v, new], 1) for v, new in zip(values, out.values)]
        return cache.replace_frames(start, [k[:, cut:] for k in keys], [v[:, cut:] for v in values])

    def _still_past(self, state: WanHistoryState) -> KVCache:
        """The histories' past standing still (``StreamConfig.still_guidance``): every window slot holds the
        newest committed frame at its own position, the sink as it is. Made once per chunk: the chunk's
        denoising calls (paused to score their x0) read the same one, a commit drops it."""
        if self._still is None or self._still[0] is not state.cache:
            cache, start = state.cache, state.cache.sink_capacity
            newest = cache.latents[:, -1:].expand_as(cache.latents[:, start:])
            self._still = (cache, self._rerun(cache, state.text, start, newest))
        return self._still[1]

    @property
    def num_denoising_steps(self) -> int:
        return len(self.timesteps)

    def model_passes(self, chunk: int, start: int, stop: int) -> int:
        """Transformer passes per candidate of engine steps ``start .. stop - 1`` of chunk ``chunk`` (0 = the
        first): the first chunk's steps are split in ``first_chunk_substeps``, and a step runs once more for
        classifier-free and once more for still guidance (the still past's re-run of the window, once per
        history and chunk, is not counted)."""
        timesteps, k = (self.first_timesteps, self.stream.first_chunk_substeps) if chunk == 0 else (self.timesteps, 1)
        return sum(1 + self.stream.guides_step(chunk, float(t)) + self.stream.still_guides_step(chunk, float(t))
                   for t in timesteps[start * k:stop * k])

    @torch.no_grad()
    def denoise(
        self, state: WanHistoryState, parents: Tensor, noise: Tensor, generators: Sequence[torch.Generator]
    ) -> Tensor:
        return self.denoise_steps(state, parents, noise, generators, 0, self.num_denoising_steps)[0]

    @torch.no_grad()
    def denoise_steps(
        self, state: WanHistoryState, parents: Tensor, x: Tensor, generators: Sequence[torch.Generator],
        start: int, stop: int,
    ) -> tuple[Tensor, Tensor]:
        """Sampler steps ``start .. stop - 1`` of every candidate from its sample ``x`` at step ``start``
        (``x_T`` for 0): the samples for step ``stop`` and the ``x0`` predictions of step ``stop - 1``.

        Each candidate's generator continues where the previous call left it, so pausing between
        steps (to score the ``x0`` predictions) changes nothing for the candidates that go on.
        """
        n = x.shape[0]
        if x.shape[1:] != self.spec.latent_shape:
            shape = ", ".join(map(str, self.spec.latent_shape))
            raise ValueError(f"noise must be [N, {shape}], got {tuple(x.shape)}")
        if len(generators) != n or parents.shape != (n,):
            raise ValueError(
                f"need one generator and one parent per candidate ({n}); "
                f"got {len(generators)} and parents {tuple(parents.shape)}"
            )
        parents = parents.cpu()  # read on the host by forward_chunk: no device sync per step
        frames, chunk, stream = self.stream.chunk_frames, state.num_chunks, self.stream
        still = None  # the candidates' pasts standing still, and their parents there
        if any(stream.still_guides_step(chunk, float(t)) for t in self.timesteps[start:stop]):
            still = self.model.cache_for_candidates(self._still_past(state), parents)
        # The candidates' pasts copied once for all steps, where each step would join copies of them.
        cache, parents = self.model.cache_for_candidates(state.cache, parents)
        null = self._null_condition(state.text) if stream.guides(chunk) else None

        def predict_flow(x: Tensor, t: Tensor) -> Tensor:
            t = float(t)  # the host's timesteps: no device sync
            timesteps = torch.full((n, frames), t, device=self.device)
            caption = self.model.forward_chunk(x, timesteps, state.text, cache, parents).flow.float()
            flow = caption
            if null is not None and stream.guides_step(chunk, t):
                # The null branch reads the same (captioned) past: guidance sharpens this chunk's caption.
                unguided = self.model.forward_chunk(x, timesteps, null, cache, parents).flow.float()
                flow = torch.lerp(unguided, caption, stream.guidance_scale)
            if still is not None and stream.still_guides_step(chunk, t):
                standing = self.model.forward_chunk(x, timesteps, state.text, *still).flow.float()
                flow = flow + stream.still_guidance * (caption - standing)
            return flow

        def draw_noise(step: int) -> Tensor:
            # Each candidate's fresh noise comes from its own generator, on that generator's device.
            fresh = [torch.randn(x.shape[1:], generator=g, device=g.device) for g in generators]
            return host_to_device(torch.stack(fresh), self.device)

        timesteps, k, eta = self.timesteps, 1, 0.0
        if state.num_chunks == 0:
            timesteps, k, eta = self.first_timesteps, self.stream.first_chunk_substeps, self.stream.first_chunk_eta
        # Sampler arithmetic in float32; the network runs in the model's dtype.
        return sample_steps(predict_flow, host_to_device(x.float(), self.device), timesteps,
                            self.stream.num_train_timesteps, draw_noise, self.stream.sampler, start * k, stop * k, eta)

    @torch.no_grad()
    def decode(self, state: WanHistoryState, parents: Tensor, latents: Tensor) -> Decoded:
        cache = self.codec.select_cache(state.decoder_cache, parents)
        frames, cache = self.codec.decode_chunk(latents, cache)
        return Decoded(frames, cache)

    def evicted_chunk(self, state: WanHistoryState) -> int | None:
        return state.cache.evicted_chunk()

    @torch.no_grad()
    def commit(
        self,
        state: WanHistoryState,
        parents: Tensor,
        latents: Tensor,
        decoded: Decoded,
        routes: Sequence[Route],
        limits: SinkLimits,
    ) -> tuple[WanHistoryState, list[Route | None]]:
        """Consumes ``state``: its cache memory becomes the new state's (a later use of it raises).

        Returns the new state and the route each survivor's evicted chunk really took (None: nothing
        left the window)."""
        k = latents.shape[0]
        if parents.shape != (k,):
            raise ValueError(f"parents must be [{k}] (one per survivor), got {tuple(parents.shape)}")
        # The clean pass (t = 0) writes K/V; it runs for the survivors only, reading their parents' rows.
        t0 = torch.zeros(k, self.stream.chunk_frames, device=self.device)
        parents = parents.cpu()
        self._still = None  # the still past of the state this commit consumes
        clean = self.model.chunk_kv(latents, t0, state.text, state.cache, parents)
        positions = torch.arange(self.stream.chunk_frames, device=self.device) + state.cache.next_frame
        # In place, one layer at a time: select the survivors, route the evicted chunk, append the new one.
        cache = state.cache.commit_(parents, routes, clean.keys, clean.values, positions, latents, limits)
        logger.debug("committed frames up to %d; sink frames %s", cache.next_frame, cache.sink_lengths)
        return dataclasses.replace(state, cache=cache, decoder_cache=decoded.cache), list(cache.applied_routes)

    def select_decoded(self, decoded: Decoded, index: Tensor) -> Decoded:
        index = index.to(decoded.frames.device)
        return Decoded(decoded.frames.index_select(0, index), self.codec.select_cache(decoded.cache, index))
