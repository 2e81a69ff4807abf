"""The beam loop: ``K`` histories x ``M`` expansions per chunk, with the three Stream-T1 units.

Every method is a setting of this one engine (see ``configs/``): plain generation is K = M = 1,
Best-of-N is K = N, M = 1 with a final pick, beam search turns off noise propagation and memory
sinking, and each ablation switches one unit off. The loop only talks to the
:class:`~streamt1.interfaces.StreamingGenerator` and reward protocols.

Prompt schedules (LongLive's interactive mode, :mod:`streamt1.schedule`): before the first chunk of
a new segment every history is switched to the new prompt in one batched
``StreamingGenerator.switch_prompt``. Across a switch the search never scores one prompt's chunks
under another's caption:

* a candidate's image and video rewards use the prompt active for its chunk;
* the long reward's sliding window is cut at the switch: it holds only the chunks of the current
  segment (so the first chunk after a switch is scored alone, like chunk 0). We chose this over
  scoring each part under its own prompt because the window reward then measures the new scene
  only, and a mean over parts would let the old scene's frozen score dilute the new one's;
* the transition gate sees the switch: the first chunk of a segment is a transition by definition
  (its parent's long score was under another caption, so the drop between the two means nothing);
  the quality gate still compares a chunk with its whole history (each image reward was taken
  under its own chunk's prompt);
* with ``scene_anchors`` (and memory sinking on) that first chunk is APPENDed to the sink when it
  leaves the window, whatever its quality gate says: it anchors the new scene, as chunk 0 anchors
  the first (once the sink is full the cache turns APPEND into EMA, as for any chunk);
* the final pick scores each segment's frames under its own prompt and averages the segments.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor
from tqdm.auto import tqdm

from streamt1.config import SearchConfig
from streamt1.interfaces import ImageReward, Route, StreamingGenerator, VideoReward, unit_float
from streamt1.outputs.trace import CandidateRecord, ChunkRecord, HistoryRecord, Trace
from streamt1.schedule import PromptSchedule, Segment, as_schedule
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
    scene_start: bool = False  # the first chunk after a prompt switch (an anchor of the new scene)

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
                             "--method none, or pass --image-reward / --video-reward (see `streamt1 rewards`)")

    @property
    def scores_chunks(self) -> bool:
        return self.config.scores_chunks

    @property
    def picks_final(self) -> bool:
        return self.config.picks_final

    # -----------------------------------------------------------------------------------------

    @torch.no_grad()
    def run(
        self,
        prompt: str | PromptSchedule | Sequence[Segment],
        num_frames: int,
        seed: int,
        callback: Callable[[ChunkRecord], None] | None = None,
        progress: bool = True,
    ) -> SearchResult:
        """Generate ``num_frames`` latent frames for a prompt or a prompt schedule; same seed, same video."""
        if isinstance(prompt, str) and not prompt.strip():
            raise ValueError("prompt is empty: give the text of the video to generate")
        schedule = as_schedule(prompt)
        gen, cfg, spec = self.generator, self.config, self.generator.spec
        num_chunks = spec.num_chunks(num_frames)
        schedule.validate(num_frames, spec.latent_frames)
        first_chunks = [s.from_frame // spec.latent_frames for s in schedule.segments]
        trace = Trace.start(method=self.method, prompt=schedule.text(), seed=seed, fps=spec.fps,
                            num_chunks=num_chunks, config=asdict(cfg),
                            segments=[{**s, "from_chunk": c} for s, c in zip(schedule.to_list(), first_chunks)])
        started = time.perf_counter()
        lap = _Laps(trace)
        conditions = [gen.encode_prompt(p) for p in schedule.prompts]
        state = gen.initial_state(conditions[0], num_histories=1)
        histories: list[ChunkNode | None] = [None]
        bar = tqdm(range(num_chunks), desc="chunks", disable=not progress, leave=False)
        for n in bar:
            chunk_start = time.perf_counter()
            segment = schedule.segment_at(n * spec.latent_frames)
            scene_start = n > 0 and n == first_chunks[segment]
            if scene_start:  # every history re-caches its window under the new prompt, in one pass
                state = gen.switch_prompt(state, conditions[segment])
                lap("switch")
            active = schedule.prompts[segment]
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
            window = min(cfg.long_window_chunks - 1, n - first_chunks[segment])  # never across a switch
            scores = self._score(active, histories, parents, frames, n * spec.latent_frames, num_frames, window)
            keep = self._select(scores, len(parents), seed=candidate_seed(seed, n, len(parents)))
            lap("score")
            # 5. Gates of the survivors and routes for the chunk that leaves the window.
            survivors = self._grow(histories, parents, keep, frames, latents, noise, scores, n, scene_start)
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
        result = self._finish(schedule, first_chunks, histories, trace, spec.fps)
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

    def _score(self, prompt, histories, parents, frames, start_frame, num_frames, depth) -> Scores | None:
        """Short and long rewards of every candidate, fused with the progress-dependent alpha."""
        if not self.scores_chunks:
            return None
        n, t = frames.shape[:2]
        images = unit_float(frames.flatten(0, 1))
        short = self.image_reward(images, [prompt] * (n * t)).float().cpu().view(n, t).mean(1)
        clips = self._windows(histories, parents, frames, depth)
        video = self.video_reward(clips, [prompt] * n, self.generator.spec.fps)
        long = video.overall.float().cpu()
        alpha = mix_alpha(start_frame, num_frames, self.generator.spec.latent_frames, self.config.tau)
        fused = fuse(short, long, alpha, self.config.fusion)
        parts = {k: v.float().cpu() for k, v in video.parts.items()}
        return Scores(short=short, long=long, long_parts=parts, fused=fused, alpha=alpha)

    def _windows(self, histories, parents, frames: Tensor, depth: int) -> Tensor:
        """``[N, T_w, 3, H, W]`` uint8 CPU clips: each candidate after the last ``depth`` chunks of its parent.

        Kept as stored (uint8, CPU) so long windows never sit on the accelerator in float32; a reward
        subsamples what it needs before converting (see ``VideoReward``).
        """
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

    def _grow(self, histories, parents, keep, frames, latents, noise, scores, n, scene_start) -> list[ChunkNode]:
        """New tree nodes for the survivors, with the gates memory sinking will read later.

        The transition gate sees a prompt switch: the first chunk of a new scene is a transition.
        """
        cfg = self.config
        nodes = []
        for i in keep.tolist():
            parent = histories[parents[i]]
            node = ChunkNode(index=n, parent=parent, frames=frames[i].cpu(), latents=latents[i],
                             noise=noise[i], scene_start=scene_start)
            if scores is not None:
                node.short, node.long = scores.short[i].item(), scores.long[i].item()
                earlier = [c.short for c in parent.lineage()] if parent is not None else []
                node.quality = quality_gate(node.short, earlier, cfg.quality_threshold)
                node.transition = scene_start or transition_gate(parent.long if parent else None, node.long,
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
            anchor = self.config.scene_anchors and node.scene_start  # kept whatever its quality
            routes.append(route_evicted(anchor or bool(node.quality), anchor or bool(node.transition), sink_full))
        return leaving, routes

    def _finish(self, schedule: PromptSchedule, first_chunks: list[int], histories: list[ChunkNode],
                trace: Trace, fps: float) -> SearchResult:
        """Final pick: the video reward scores each finished video (each segment under its own prompt,
        averaged over segments); the best one is kept."""
        lineages = [h.lineage() for h in histories]
        videos = [torch.cat([node.frames for node in nodes]) for nodes in lineages]
        chosen = 0
        if self.picks_final:
            bounds = [*first_chunks, len(lineages[0])]
            finals = [
                self.video_reward(torch.stack([torch.cat([node.frames for node in nodes[a:b]]) for nodes in lineages]),
                                  [prompt] * len(videos), self.generator.spec.fps)
                for prompt, a, b in zip(schedule.prompts, bounds, bounds[1:])
            ]
            overall = torch.stack([f.overall.float().cpu() for f in finals]).mean(0)
            parts = {k: torch.stack([f.parts[k].float().cpu() for f in finals]).mean(0).tolist()
                     for k in finals[0].parts}
            chosen = int(select_top_k(overall, 1))
            trace.set_final(scores=overall.tolist(), parts=parts, chosen=chosen)
        else:  # histories are ranked best first by the last chunk's score: keep the first
            trace.set_final(scores=[None] * len(videos), parts={}, chosen=chosen)
        latents = torch.cat([node.latents for node in lineages[chosen]], dim=1)
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
