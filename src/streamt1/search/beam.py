"""The beam loop: ``K`` histories x ``M`` expansions per chunk, with the three Stream-T1 units.

Every method is a setting of this one engine (see ``configs/``): plain generation is K = M = 1,
Best-of-N is K = N, M = 1 with a final pick, beam search turns off noise propagation and memory
sinking, and each ablation switches one unit off. Scoring, selection and routing are named steps
(:mod:`streamt1.search.steps`) a preset picks, so a new method is a new step plus a YAML file; the
candidates of a chunk travel between steps as one :class:`~streamt1.search.pool.CandidatePool`.
The loop only talks to the :class:`~streamt1.interfaces.StreamingGenerator` and reward protocols.

Early pruning (beyond the paper, ``search.early_pruning_step``): after denoising step j < last the
candidates' x0 predictions are decoded and scored by the same steps, and only ``early_keep`` of them
pay for the remaining steps.

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
* the final pick scores each segment's frames under its own prompt: with ``search.final_score`` "whole" each
  segment once, the segments averaged alike; with "windows" each segment's windows (cut at the switch as
  above), every window counted once, so a segment weighs by its chunks.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import Tensor
from tqdm.auto import tqdm

from streamt1.config import ConfigError, SearchConfig
from streamt1.interfaces import ImageReward, Route, StreamingGenerator, VideoReward, to_uint8
from streamt1.outputs.progress import shorten
from streamt1.schedule import PromptSchedule, Segment, as_schedule
from streamt1.search.clips import score_clips
from streamt1.search.noise import NoisePrefetch, candidate_seed, propagate_noise
from streamt1.search.pool import CandidatePool, ChunkContext, ChunkNode, EarlyDrop
from streamt1.search.pruning import select_top_k
from streamt1.search.sinking import quality_gate, transition_gate
from streamt1.search.steps import get_step
from streamt1.search.trace import CandidateRecord, ChunkRecord, HistoryRecord, Trace

logger = logging.getLogger(__name__)


@dataclass
class SearchResult:
    """The chosen video and everything needed to explain how it was chosen."""

    frames: Tensor  # [T, 3, H, W] uint8
    latents: Tensor  # [C, F_total, H, W]
    trace: Trace
    chosen: int  # index of the chosen history among the finished ones
    fps: float

    def __repr__(self) -> str:  # shapes, not the pixels
        def tensor(t: Tensor) -> str:
            return f"{str(t.dtype).removeprefix('torch.')}{list(t.shape)}"
        return (f"SearchResult(frames={tensor(self.frames)}, latents={tensor(self.latents)}, fps={self.fps}, "
                f"chosen={self.chosen}, trace=<{self.trace.method}, {len(self.trace.chunks)} chunks, "
                f"prompt {shorten(self.trace.prompt, 50)!r}>)")


class _Laps:
    """Wall time per phase, accumulated into ``trace.timing`` (the ``.cpu()`` reads sync the device)."""

    def __init__(self, trace: Trace) -> None:
        self.trace, self.last = trace, time.perf_counter()

    def __call__(self, phase: str) -> None:
        now = time.perf_counter()
        self.trace.add_time(phase, now - self.last)
        self.last = now


class StreamSearch:
    """Runs one prompt through the search described by a :class:`SearchConfig`.

    ``settings``: the rest of the resolved configuration (backend, weights, rewards, stream and
    sampler, versions), stored in the trace beside the search config.
    """

    def __init__(
        self,
        generator: StreamingGenerator,
        config: SearchConfig,
        image_reward: ImageReward | None = None,
        video_reward: VideoReward | None = None,
        method: str = "custom",
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.generator = generator
        self.config = config
        self.image_reward = image_reward
        self.video_reward = video_reward
        self.method = method
        self.settings = dict(settings or {})
        self.score_step = get_step("score", config.scoring)
        self.select_step = get_step("select", config.pruning)
        self.route_step = get_step("route", config.routing)
        missing = [name for name, needed, have in (
            ("an image reward", self.scores_chunks, image_reward is not None),
            ("a video reward", self.scores_chunks or self.picks_final, video_reward is not None),
        ) if needed and not have]
        if missing:
            raise ValueError(f"method {method!r} needs {' and '.join(missing)} but none was given: use method "
                             "none, or give the rewards (--image-reward / --video-reward, rewards.image / "
                             "rewards.video; `streamt1 rewards` lists them)")
        chunk = generator.spec.latent_frames
        if config.max_sink_frames < chunk:
            raise ConfigError(f"search.max_sink_frames={config.max_sink_frames} is less than one chunk ({chunk} latent "
                              f"frames): the sink always holds the first chunk, so it cannot be smaller; use {chunk} "
                              "or more")
        if config.early_pruning_step is not None:
            steps = getattr(generator, "num_denoising_steps", None)
            if steps is None or not hasattr(generator, "denoise_steps"):
                raise ConfigError("search.early_pruning_step needs a generator that can pause between denoising "
                                  "steps (denoise_steps); unset it for this backend")
            if config.early_pruning_step >= steps - 1:
                raise ConfigError(f"search.early_pruning_step={config.early_pruning_step} is invalid: the sampler "
                                  f"runs {steps} steps, so prune after a step in 0..{steps - 2}")

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
        schedule = as_schedule(prompt)  # refuses an empty prompt
        gen, cfg, spec = self.generator, self.config, self.generator.spec
        num_chunks = spec.num_chunks(num_frames)
        schedule.validate(num_frames, spec.latent_frames)
        first_chunks = [s.from_frame // spec.latent_frames for s in schedule.segments]
        trace = Trace.start(method=self.method, prompt=schedule.text(), seed=seed, fps=spec.fps,
                            num_chunks=num_chunks, config={**self.settings, "search": asdict(cfg)},
                            segments=[{**s, "from_chunk": c, "from_decoded_frame": spec.decoded_frames(c) if c else 0}
                                      for s, c in zip(schedule.to_list(), first_chunks)])
        started = time.perf_counter()
        lap = _Laps(trace)
        conditions = [gen.encode_prompt(p, num_frames) for p in schedule.prompts]
        state = gen.initial_state(conditions[0], num_histories=1)
        lap("setup")
        histories: list[ChunkNode | None] = [None]
        # The bar advances by model passes, not chunks: a first chunk of split, guided steps costs many
        # later chunks, and a chunk-rate estimate of the time left would be off by that much at the start
        # (its label says so, since its percentage runs ahead of the chunk count in the postfix)
        passes = [self._passes(n, 0, self.generator.num_denoising_steps) for n in range(num_chunks)]
        bar = tqdm(total=sum(passes), desc="model passes", disable=not progress, leave=False,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]")
        with NoisePrefetch(spec.latent_shape) as noise_source:  # next chunk's noise while this one runs
            for n in range(num_chunks):
                chunk_start = time.perf_counter()
                segment = schedule.segment_at(n * spec.latent_frames)
                scene_start = n > 0 and n == first_chunks[segment]
                if scene_start:  # every history re-caches its window under the new prompt, in one pass
                    state = gen.switch_prompt(state, conditions[segment])
                    lap("switch")
                ctx = ChunkContext(index=n, prompt=schedule.prompts[segment], histories=histories,
                                   start_frame=n * spec.latent_frames, num_frames=num_frames,
                                   window=min(cfg.long_window_chunks - 1, n - first_chunks[segment]),
                                   scene_start=scene_start, run_seed=seed)
                # 1. Expand: chunk 0 grows the single root into K*M candidates, later chunks M per history.
                # 2. Noise: fresh eps per candidate, propagated from the parent's noise after chunk 0.
                pool = self._expand(ctx, noise_source)
                # 3. Denoise (batched, caches untouched; optionally pruned early) and decode each candidate once.
                pool = self._denoise(state, ctx, pool)
                lap("denoise")
                pool.decoded = gen.decode(state, pool.parents, pool.latents)
                pool.frames = to_uint8(pool.decoded.frames)
                lap("decode")
                # 4. Score and prune to K survivors, best first.
                pool.scores = self.score_step(self, ctx, pool) if cfg.scores_chunk(n) else None
                pool.keep = self._select(ctx, pool, self.config.histories)
                lap("score")
                # 5. Gates of the survivors and requested routes for the chunk that leaves the window.
                survivors = self._grow(ctx, pool)
                _offload_frames(survivors, cfg.long_window_chunks if cfg.scores_chunk(n + 1) else 1)
                evicted = gen.evicted_chunk(state)
                leaving, requested = self._routes(survivors, evicted)
                # 6. Commit: the clean K/V pass only for the survivors; the cache applies the sink limits.
                state, applied = gen.commit(state, pool.parents[pool.keep], pool.latents[pool.keep],
                                            gen.select_decoded(pool.decoded, pool.keep), requested, cfg.sink_limits)
                lap("commit")
                histories = survivors
                record = _chunk_record(n, pool, leaving, applied, evicted, state.sink_frames())
                record.calls = self._calls(n, pool)
                trace.add_chunk(record, seconds=time.perf_counter() - chunk_start)
                best = {} if pool.scores is None else {"best": f"{pool.scores.fused[pool.keep].max().item():.3f}"}
                bar.set_postfix(chunk=f"{n + 1}/{num_chunks}", **best, refresh=False)
                bar.update(passes[n])
                if callback is not None:
                    callback(record)
        bar.close()
        result = self._finish(schedule, first_chunks, histories, trace, spec.fps)
        lap("final")
        trace.add_time("total", time.perf_counter() - started)
        return result

    def _passes(self, chunk: int, start: int, stop: int) -> int:
        """Model passes per candidate of steps ``start .. stop - 1`` of ``chunk``: more than one a step where
        the generator splits the first chunk's steps or guides them."""
        passes = getattr(self.generator, "model_passes", None)
        return stop - start if passes is None else passes(chunk, start, stop)

    def _calls(self, chunk: int, pool: CandidatePool) -> dict[str, int]:
        """Model calls of one chunk, early pruning's look at the x0 predictions included."""
        steps, kept = self.generator.num_denoising_steps, len(pool.keep)
        final, looked = len(pool), len(pool) + len(pool.dropped)  # candidates after / before early pruning
        early = self.config.early_pruning_step if self._looks_early(chunk, looked) else None
        forwards = final * self._passes(chunk, 0, steps) if early is None else \
            looked * self._passes(chunk, 0, early + 1) + final * self._passes(chunk, early + 1, steps)
        scored = final + (looked if early is not None else 0)  # candidate chunks decoded (and scored)
        frames = len(range(0, pool.frames.shape[1], self.config.short_frame_stride))
        rewarded = self.config.scores_chunk(chunk)
        return {"generator_forwards": forwards + kept, "decoded": scored,
                "image_reward_frames": scored * frames if rewarded else 0,
                "video_reward_clips": scored if rewarded else 0}

    def _looks_early(self, chunk: int, candidates: int) -> bool:
        """Early pruning looks at this chunk's x0 predictions: it is on, the chunk is scored, and the look
        can prune (``early_keep`` below the chunk's candidates) or only looks (``early_keep`` None)."""
        cfg = self.config
        return (cfg.early_pruning_step is not None and cfg.scores_chunk(chunk)
                and (cfg.early_keep is None or cfg.early_keep < candidates))

    # -----------------------------------------------------------------------------------------

    def _expand(self, ctx: ChunkContext, noise_source: NoisePrefetch) -> CandidatePool:
        """Steps 1-2: the chunk's candidates, their seeds and their initial noise."""
        cfg, spec = self.config, self.generator.spec
        per_history = cfg.first_candidates if ctx.index == 0 else cfg.expansions
        parents = torch.arange(len(ctx.histories)).repeat_interleave(per_history)
        seeds = [candidate_seed(ctx.run_seed, ctx.index, i) for i in range(len(parents))]
        generators, noise = noise_source.draw(seeds)
        if ctx.start_frame + spec.latent_frames < ctx.num_frames:  # the next chunk: K histories x M each
            noise_source.prefetch([candidate_seed(ctx.run_seed, ctx.index + 1, i)
                                   for i in range(cfg.histories * cfg.expansions)])
        if cfg.noise_propagation and ctx.index > 0:
            parent_noise = torch.stack([ctx.histories[p].noise.cpu() for p in parents.tolist()])
            noise = propagate_noise(parent_noise, noise, cfg.noise_fusion_sigma)
        return CandidatePool(ids=torch.arange(len(parents)), parents=parents, seeds=seeds, noise=noise,
                             generators=generators)

    def _denoise(self, state, ctx: ChunkContext, pool: CandidatePool) -> CandidatePool:
        """Step 3: clean latents of every candidate; with early pruning, only the survivors of a look
        at the x0 predictions after ``early_pruning_step`` run the remaining steps."""
        cfg = self.config
        j = cfg.early_pruning_step
        if not self._looks_early(ctx.index, len(pool)):
            step = cfg.max_batch
            pool.latents = torch.cat([
                self.generator.denoise(state, pool.parents[i:i + step], pool.noise[i:i + step],
                                       pool.generators[i:i + step])
                for i in range(0, len(pool), step)
            ])
            return pool
        last = self.generator.num_denoising_steps
        sample, x0 = self._batched_steps(state, pool, pool.noise, 0, j + 1)
        pool.sample = sample
        look = self.generator.decode(state, pool.parents, x0)
        pool.frames = to_uint8(look.frames)
        pool.scores = self.score_step(self, ctx, pool)
        keep = self._select(ctx, pool, cfg.early_keep or len(pool)).sort().values  # survivors keep batch order
        dropped = sorted(set(range(len(pool))) - set(keep.tolist()))
        early = [EarlyDrop(id=int(pool.ids[i]), parent=int(pool.parents[i]), seed=pool.seeds[i], step=j,
                           score=float(pool.scores.fused[i])) for i in dropped]
        pool = pool.subset(keep)
        pool.dropped = early
        pool.latents = self._batched_steps(state, pool, pool.sample, j + 1, last)[0]
        pool.sample = None
        logger.debug("chunk %d: early pruning after step %d kept candidates %s", ctx.index, j, pool.ids.tolist())
        return pool

    def _batched_steps(self, state, pool: CandidatePool, x: Tensor, start: int, stop: int) -> tuple[Tensor, Tensor]:
        """Sampler steps ``start .. stop - 1`` in slices of ``max_batch``: samples and x0 predictions."""
        step = self.config.max_batch
        parts = [
            self.generator.denoise_steps(state, pool.parents[i:i + step], x[i:i + step],
                                         pool.generators[i:i + step], start, stop)
            for i in range(0, len(pool), step)
        ]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def _select(self, ctx: ChunkContext, pool: CandidatePool, k: int) -> Tensor:
        """The pool's ``k`` survivors by the selection step (all of them, in order, when no more)."""
        k = min(k, len(pool))
        if len(pool) <= k or pool.scores is None:
            return torch.arange(len(pool))
        # a plugin's step may answer with any sequence of positions: checked here, once for every step
        keep = torch.as_tensor(self.select_step(self, ctx, pool, k), dtype=torch.long).flatten().cpu()
        if len(keep) != k or len(set(keep.tolist())) != k or not all(0 <= int(i) < len(pool) for i in keep):
            raise ValueError(f"select step {self.config.pruning!r} returned positions {keep.tolist()}; expected "
                             f"{k} distinct positions in 0..{len(pool) - 1} (the pool's candidates), best first")
        return keep

    def _grow(self, ctx: ChunkContext, pool: CandidatePool) -> list[ChunkNode]:
        """New tree nodes for the survivors, with the gates memory sinking will read later.

        The transition gate sees a prompt switch: the first chunk of a new scene is a transition.
        """
        cfg, scores = self.config, pool.scores
        nodes = []
        for i in pool.keep.tolist():
            parent = ctx.histories[pool.parents[i]]
            # one copy per survivor, not one of all survivors: each node must own its frames, or a history
            # pruned later would stay in memory as long as its sibling does
            node = ChunkNode(index=ctx.index, parent=parent, frames=pool.frames[i].clone(), latents=pool.latents[i],
                             noise=pool.noise[i], scene_start=ctx.scene_start)
            if scores is not None:
                node.short, node.long = scores.short[i].item(), scores.long[i].item()
                # chunks with nothing to prune may be unscored (a first chunk of K candidates without
                # memory sinking): the gates read the scored ones
                earlier = [c.short for c in parent.lineage() if c.short is not None] if parent is not None else []
                node.quality = quality_gate(node.short, earlier, cfg.quality_threshold)
                node.transition = ctx.scene_start or transition_gate(parent.long if parent else None, node.long,
                                                                     cfg.transition_threshold)
            nodes.append(node)
        return nodes

    def _routes(self, survivors: list[ChunkNode], evicted: int | None) -> tuple[list, list[Route]]:
        """Per survivor, the chunk leaving its window (or None) and the route requested for it
        (DISCARD if sinking is off); the cache applies the sink's capacity at commit."""
        if evicted is None:
            return [None] * len(survivors), [Route.DISCARD] * len(survivors)
        leaving = [node.lineage()[evicted] for node in survivors]
        if not self.config.memory_sinking:
            return leaving, [Route.DISCARD] * len(survivors)
        return leaving, [self.route_step(self, node) for node in leaving]

    def _finish(self, schedule: PromptSchedule, first_chunks: list[int], histories: list[ChunkNode],
                trace: Trace, fps: float) -> SearchResult:
        """Final pick: the video reward scores each finished video (each segment under its own prompt, whole
        or window by window as ``final_score`` says; the mean over all of them, so under "windows" a segment weighs
        by its chunks); the best one is kept."""
        lineages = [h.lineage() for h in histories]
        chosen = 0
        if self.picks_final:  # each video read from its chunks: only the chosen one is ever joined
            # read on the host, where videos are kept (a scoring search left its last windows where decoded)
            for nodes in lineages:
                for node in nodes[-self.config.long_window_chunks:]:
                    node.frames = node.frames.cpu()
            bounds = [*first_chunks, len(lineages[0])]
            videos = [[node.frames for node in nodes] for nodes in lineages]
            finals = [  # per segment, per batch of clips: [K] scores
                score_clips(self.video_reward, clips, [prompt] * len(lineages), self.generator.spec.fps)
                for prompt, a, b in zip(schedule.prompts, bounds, bounds[1:])
                for clips in final_clips(videos, a, b, self.config.final_score, self.config.long_window_chunks)
            ]
            overall = torch.stack([f.overall.float().cpu() for f in finals]).mean(0)
            parts = {k: torch.stack([f.parts[k].float().cpu() for f in finals]).mean(0).tolist()
                     for k in finals[0].parts}
            chosen = int(select_top_k(overall, 1))
            trace.set_final(scores=overall.tolist(), parts=parts, chosen=chosen)
        else:  # histories are in the order the selection step returned them (best first): keep the first
            trace.set_final(scores=[None] * len(lineages), parts={}, chosen=chosen)
        frames = torch.cat([node.frames.cpu() for node in lineages[chosen]])
        latents = torch.cat([node.latents for node in lineages[chosen]], dim=1)
        return SearchResult(frames=frames, latents=latents, trace=trace, chosen=chosen, fps=fps)


def _offload_frames(survivors: list[ChunkNode], window_chunks: int) -> None:
    """Move to the CPU the frames of the chunks no later reward window reads (:func:`_leaving_window`).
    Until then a chunk's frames stay where they were decoded, so the windows are gathered there (at
    832x480, 4 candidates' 2-fps frames are ~70 MB a chunk that would otherwise be copied on the
    host and then to the reward's device). With ``window_chunks`` 1 (methods that score no chunk)
    each survivor's own chunk moves at once."""
    for node in survivors:
        leaving = _leaving_window(node, window_chunks)
        if leaving is not None:
            leaving.frames = leaving.frames.cpu()  # siblings share it: moved once, a no-op after


def _leaving_window(node: ChunkNode, window_chunks: int) -> ChunkNode | None:
    """The chunk of ``node``'s history that the next chunk's window (its last ``window_chunks - 1``
    chunks) no longer reads: the oldest of its last ``window_chunks``; None while the history is shorter."""
    nodes = node.lineage(window_chunks)
    return nodes[0] if len(nodes) == window_chunks else None


def _chunk_record(n: int, pool: CandidatePool, leaving: list[ChunkNode | None], applied: list[Route | None],
                  evicted: int | None, sink_frames: list[int]) -> ChunkRecord:
    """The trace entry of one chunk: every candidate drawn, which survived, and the routes the cache applied."""
    scores = pool.scores
    position = {int(c): i for i, c in enumerate(pool.ids.tolist())}
    history_of = {int(pool.ids[p]): h for h, p in enumerate(pool.keep.tolist())}
    early = {d.id: d for d in pool.dropped}
    num_drawn = len(pool) + len(pool.dropped)
    candidates = []
    for c in range(num_drawn):
        i, drop = position.get(c), early.get(c)
        live = i is not None and scores is not None
        candidates.append(CandidateRecord(
            id=c, parent=int(pool.parents[i]) if drop is None else drop.parent,
            seed=pool.seeds[i] if drop is None else drop.seed,
            short=float(scores.short[i]) if live else None, long=float(scores.long[i]) if live else None,
            long_parts={k: float(v[i]) for k, v in scores.long_parts.items()} if live else {},
            score=float(scores.fused[i]) if live else None,
            kept=c in history_of, history=history_of.get(c),
            pruned_at_step=drop.step if drop else None, early_score=drop.score if drop else None,
        ))
    history_records = [
        HistoryRecord(candidate=int(pool.ids[c]), route=route.value if route is not None else None,
                      quality=node.quality if node is not None else None,
                      transition=node.transition if node is not None else None, sink_frames=sink)
        for c, node, route, sink in zip(pool.keep.tolist(), leaving, applied, sink_frames)
    ]
    return ChunkRecord(index=n, alpha=scores.alpha if scores else None, evicted_chunk=evicted,
                       candidates=candidates, histories=history_records)


def final_clips(videos: Sequence[Sequence[Tensor]], a: int, b: int, final_score: str,
                window_chunks: int) -> list[list[list[Tensor]]]:
    """The clips the final pick scores for chunks ``a .. b - 1`` (one prompt segment) of every finished
    video (each a list of its chunks' frames), in batches of one clip per video: the whole segment
    (``"whole"``), or at every chunk of it the window the long reward read there, up to ``window_chunks``
    chunks of the segment (``"windows"``)."""
    if final_score == "whole":
        return [[list(chunks[a:b]) for chunks in videos]]
    return [[list(chunks[max(a, c + 1 - window_chunks):c + 1]) for chunks in videos] for c in range(a, b)]
