"""The beam loop: ``K`` histories x ``M`` expansions per chunk, with the three Stream-T1 units.

Every method is a setting of this one engine (see ``configs/``): plain generation is K = M = 1,
Best-of-N is K = N, M = 1 with a final pick, beam search turns off noise propagation and memory
sinking, and each ablation switches one unit off. The loop only talks to the
:class:`~streamt1.interfaces.StreamingGenerator` and reward protocols.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Callable

import torch
from torch import Tensor
from tqdm.auto import tqdm

from streamt1.config import SearchConfig
from streamt1.interfaces import ImageReward, Route, StreamingGenerator, VideoReward, unit_float
from streamt1.outputs.trace import CandidateRecord, ChunkRecord, HistoryRecord, Trace
from streamt1.search.noise import candidate_seed, draw_noise, make_generators, propagate_noise
from streamt1.search.pruning import fuse, mix_alpha, select_random, select_top_k
from streamt1.search.sinking import quality_gate, route_evicted, transition_gate

logger = logging.getLogger(__name__)


@dataclass
class ChunkNode:
    """One committed chunk of one history: a node of the search tree (histories share prefixes)."""

    index: int
    parent: ChunkNode | None
    frames: Tensor  # [T, 3, H, W] uint8 on the CPU, decoded once (histories live off the accelerator)
    latents: Tensor  # [C, F, H, W]
    noise: Tensor  # [C, F, H, W] the x_T it was denoised from (noise propagation reads it)
    short: float | None = None
    long: float | None = None
    quality: bool | None = None
    transition: bool | None = None

    def lineage(self, depth: int | None = None) -> list[ChunkNode]:
        """The last ``depth`` chunks of this history (all if None), oldest first."""
        nodes: list[ChunkNode] = []
        node: ChunkNode | None = self
        while node is not None and (depth is None or len(nodes) < depth):
            nodes.append(node)
            node = node.parent
        return nodes[::-1]


@dataclass
class Scores:
    """Rewards of one chunk's candidate pool, all ``[N]``."""

    short: Tensor
    long: Tensor
    long_parts: dict[str, Tensor]
    fused: Tensor
    alpha: float


@dataclass
class SearchResult:
    """The chosen video and everything needed to explain how it was chosen."""

    frames: Tensor  # [T, 3, H, W] uint8
    latents: Tensor  # [C, F_total, H, W]
    trace: Trace
    chosen: int  # index of the chosen history among the finished ones
    fps: float


class _Laps:
    """Wall time per phase, accumulated into ``trace.timing`` (the ``.cpu()`` reads sync the device)."""

    def __init__(self, trace: Trace) -> None:
        self.trace, self.last = trace, time.perf_counter()

    def __call__(self, phase: str) -> None:
        now = time.perf_counter()
        self.trace.add_time(phase, now - self.last)
        self.last = now


def _to_uint8(frames: Tensor) -> Tensor:
    return (frames.clamp(0, 1) * 255).round().to(torch.uint8)


class StreamSearch:
    """Runs one prompt through the search described by a :class:`SearchConfig`."""

    def __init__(
        self,
        generator: StreamingGenerator,
        config: SearchConfig,
        image_reward: ImageReward | None = None,
        video_reward: VideoReward | None = None,
        method: str = "custom",
    ) -> None:
        self.generator = generator
        self.config = config
        self.image_reward = image_reward
        self.video_reward = video_reward
        self.method = method
        missing = [name for name, needed, have in (
            ("an image reward", self.scores_chunks, image_reward is not None),
            ("a video reward", self.scores_chunks or self.picks_final, video_reward is not None),
        ) if needed and not have]
        if missing:
            raise ValueError(f"method {method!r} needs {' and '.join(missing)} but none was given: use "
                             "--method none, or pass rewards through the Python API (streamt1.api.Components)")

    @property
    def scores_chunks(self) -> bool:
        """Chunks are scored when there is something to prune or memory routing needs the gates."""
        c = self.config
        return c.expansions > 1 or c.memory_sinking

    @property
    def picks_final(self) -> bool:
        return self.config.final_pick and self.config.histories > 1

    # -----------------------------------------------------------------------------------------

    @torch.no_grad()
    def run(
        self,
        prompt: str,
        num_frames: int,
        seed: int,
        callback: Callable[[ChunkRecord], None] | None = None,
        progress: bool = True,
    ) -> SearchResult:
        """Generate ``num_frames`` latent frames for ``prompt``; same seed, same video."""
        if not prompt or not prompt.strip():
            raise ValueError("prompt is empty: give the text of the video to generate")
        gen, cfg, spec = self.generator, self.config, self.generator.spec
        num_chunks = spec.num_chunks(num_frames)
        trace = Trace.start(method=self.method, prompt=prompt, seed=seed, fps=spec.fps,
                            num_chunks=num_chunks, config=asdict(cfg))
        started = time.perf_counter()
        lap = _Laps(trace)
        state = gen.initial_state(gen.encode_prompt(prompt), num_histories=1)
        histories: list[ChunkNode | None] = [None]
        bar = tqdm(range(num_chunks), desc="chunks", disable=not progress, leave=False)
        for n in bar:
            chunk_start = time.perf_counter()
            # 1. Expand: chunk 0 grows the single root into K*M candidates, later chunks M per history.
            per_history = cfg.candidates_per_chunk if n == 0 else cfg.expansions
            parents = torch.arange(len(histories)).repeat_interleave(per_history)
            # 2. Noise: fresh eps per candidate, propagated from the parent's noise after chunk 0.
            seeds = [candidate_seed(seed, n, i) for i in range(len(parents))]
            generators = make_generators(seeds)
            noise = draw_noise(spec.latent_shape, generators)
            if cfg.noise_propagation and n > 0:
                parent_noise = torch.stack([histories[p].noise.cpu() for p in parents.tolist()])
                noise = propagate_noise(parent_noise, noise, cfg.noise_fusion_sigma)
            # 3. Denoise (batched, caches untouched) and decode each candidate once.
            latents = self._denoise(state, parents, noise, generators)
            lap("denoise")
            decoded = gen.decode(state, parents, latents)
            frames = _to_uint8(decoded.frames)
            lap("decode")
            # 4. Score and prune to K survivors.
            scores = self._score(prompt, histories, parents, frames, n * spec.latent_frames, num_frames)
            keep = self._select(scores, len(parents), seed=candidate_seed(seed, n, len(parents)))
            lap("score")
            # 5. Gates of the survivors and routes for the chunk that leaves the window.
            survivors = self._grow(histories, parents, keep, frames, latents, noise, scores, n)
            evicted = gen.evicted_chunk(state)
            leaving, routes = self._routes(survivors, evicted, state.sink_frames(), parents[keep],
                                           spec.latent_frames)
            # 6. Commit: the clean K/V pass only for the survivors, then route the evicted chunk.
            state = gen.commit(state, parents[keep], latents[keep],
                               gen.select_decoded(decoded, keep), routes)
            lap("commit")
            histories = survivors
            record = _chunk_record(n, scores, parents, seeds, keep, leaving, routes, evicted,
                                   state.sink_frames())
            record.calls = self._calls(frames, len(keep), scored=scores is not None)
            trace.add_chunk(record, seconds=time.perf_counter() - chunk_start)
            if scores is not None:
                bar.set_postfix(best=f"{scores.fused[keep].max().item():.3f}")
            if callback is not None:
                callback(record)
        result = self._finish(prompt, histories, trace, spec.fps)
        lap("final")
        trace.add_time("total", time.perf_counter() - started)
        return result

    def _calls(self, frames: Tensor, num_kept: int, scored: bool) -> dict[str, int]:
        """Model calls of one chunk; a generator that names its denoising steps gets exact forwards."""
        n, t = frames.shape[:2]
        steps = len(getattr(self.generator, "timesteps", ())) or 1
        return {"generator_forwards": n * steps + num_kept, "decoded": n,
                "image_reward_frames": n * t if scored else 0, "video_reward_clips": n if scored else 0}


    # -----------------------------------------------------------------------------------------

    def _denoise(self, state, parents: Tensor, noise: Tensor, generators) -> Tensor:
        """Denoise all candidates in slices of at most ``max_batch``."""
        step = self.config.max_batch
        parts = [
            self.generator.denoise(state, parents[i:i + step], noise[i:i + step], generators[i:i + step])
            for i in range(0, len(parents), step)
        ]
        return torch.cat(parts)

    def _score(self, prompt, histories, parents, frames, start_frame, num_frames) -> Scores | None:
        """Short and long rewards of every candidate, fused with the progress-dependent alpha."""
        if not self.scores_chunks:
            return None
        n, t = frames.shape[:2]
        images = unit_float(frames.flatten(0, 1))
        short = self.image_reward(images, [prompt] * (n * t)).float().cpu().view(n, t).mean(1)
        clips = self._windows(histories, parents, frames)
        video = self.video_reward(clips, [prompt] * n, self.generator.spec.fps)
        long = video.overall.float().cpu()
        alpha = mix_alpha(start_frame, num_frames, self.generator.spec.latent_frames, self.config.tau)
        fused = fuse(short, long, alpha, self.config.fusion)
        parts = {k: v.float().cpu() for k, v in video.parts.items()}
        return Scores(short=short, long=long, long_parts=parts, fused=fused, alpha=alpha)

    def _windows(self, histories, parents, frames: Tensor) -> Tensor:
        """``[N, T_w, 3, H, W]`` uint8 CPU clips: each candidate after the last W-1 chunks of its parent.

        Kept as stored (uint8, CPU) so long windows never sit on the accelerator in float32; a reward
        subsamples what it needs before converting (see ``VideoReward``).
        """
        depth = self.config.long_window_chunks - 1
        clips = []
        for i, p in enumerate(parents.tolist()):
            past = histories[p].lineage(depth) if histories[p] is not None and depth > 0 else []
            clips.append(torch.cat([node.frames for node in past] + [frames[i].cpu()]))
        return torch.stack(clips)

    def _select(self, scores: Scores | None, num_candidates: int, seed: int) -> Tensor:
        """Survivors, best first (random pruning draws from the seed after the last candidate's)."""
        k = min(self.config.histories, num_candidates)
        if num_candidates <= k or scores is None:
            return torch.arange(num_candidates)
        if self.config.pruning == "random":
            return select_random(num_candidates, k, torch.Generator().manual_seed(seed))
        return select_top_k(scores.fused, k)

    def _grow(self, histories, parents, keep, frames, latents, noise, scores, n) -> list[ChunkNode]:
        """New tree nodes for the survivors, with the gates memory sinking will read later."""
        cfg = self.config
        nodes = []
        for i in keep.tolist():
            parent = histories[parents[i]]
            node = ChunkNode(index=n, parent=parent, frames=frames[i].cpu(), latents=latents[i],
                             noise=noise[i])
            if scores is not None:
                node.short, node.long = scores.short[i].item(), scores.long[i].item()
                earlier = [c.short for c in parent.lineage()] if parent is not None else []
                node.quality = quality_gate(node.short, earlier, cfg.quality_threshold)
                node.transition = transition_gate(parent.long if parent else None, node.long,
                                                  cfg.transition_threshold)
            nodes.append(node)
        return nodes

    def _routes(self, survivors, evicted, sink_frames, parents, chunk_frames):
        """Per survivor, the chunk leaving its window (or None) and its route (DISCARD if sinking is off)."""
        if evicted is None:
            return [None] * len(survivors), [Route.DISCARD] * len(survivors)
        leaving = [node.lineage()[evicted] for node in survivors]
        if not self.config.memory_sinking:
            return leaving, [Route.DISCARD] * len(survivors)
        routes = []
        for node, parent in zip(leaving, parents.tolist()):
            sink_full = sink_frames[parent] + chunk_frames > self.config.max_sink_frames
            routes.append(route_evicted(bool(node.quality), bool(node.transition), sink_full))
        return leaving, routes

    def _finish(self, prompt, histories: list[ChunkNode], trace: Trace, fps: float) -> SearchResult:
        """Final pick: the video reward scores each finished video whole; the best one is kept."""
        videos = [torch.cat([node.frames for node in h.lineage()]) for h in histories]
        chosen = 0
        if self.picks_final:
            final = self.video_reward(torch.stack(videos), [prompt] * len(videos),
                                      self.generator.spec.fps)
            overall = final.overall.float().cpu()
            chosen = int(select_top_k(overall, 1))
            trace.set_final(scores=overall.tolist(),
                            parts={k: v.float().cpu().tolist() for k, v in final.parts.items()},
                            chosen=chosen)
        else:  # histories are ranked best first by the last chunk's score: keep the first
            trace.set_final(scores=[None] * len(videos), parts={}, chosen=chosen)
        latents = torch.cat([node.latents for node in histories[chosen].lineage()], dim=1)
        return SearchResult(frames=videos[chosen], latents=latents, trace=trace, chosen=chosen, fps=fps)


def _chunk_record(n, scores, parents, seeds, keep, leaving, routes, evicted, sink_frames) -> ChunkRecord:
    """The trace entry of one chunk: every candidate, which survived, and how memory was routed."""
    kept = {c: h for h, c in enumerate(keep.tolist())}

    def value(tensor: Tensor | None, i: int) -> float | None:
        return None if tensor is None else float(tensor[i])

    candidates = [
        CandidateRecord(
            id=i, parent=int(p), seed=seeds[i],
            short=value(scores.short if scores else None, i),
            long=value(scores.long if scores else None, i),
            long_parts={k: float(v[i]) for k, v in scores.long_parts.items()} if scores else {},
            score=value(scores.fused if scores else None, i),
            kept=i in kept, history=kept.get(i),
        )
        for i, p in enumerate(parents.tolist())
    ]
    history_records = [
        HistoryRecord(candidate=c, route=route.value if node is not None else None,
                      quality=node.quality if node is not None else None,
                      transition=node.transition if node is not None else None, sink_frames=sink)
        for c, node, route, sink in zip(keep.tolist(), leaving, routes, sink_frames)
    ]
    return ChunkRecord(index=n, alpha=scores.alpha if scores else None, evicted_chunk=evicted,
                       candidates=candidates, histories=history_records)
