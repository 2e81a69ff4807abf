"""Cost of the causal Wan2.1-1.3B generator on one GPU: single path vs Stream-T1 (K=2, M=2).

Full-size Wan2.1-T2V-1.3B with random weights (the weights do not change the cost), bf16, 832x480
(latent 60x104, 1560 tokens per latent frame), LongLive streaming (chunk 3, sink 3, window 9), driven
by the real engine (:class:`StreamSearch`). Stand-ins, so that the generator is what is measured:

* rewards: mean brightness (image) and brightness minus mean frame change (video), analytic;
* codec: :class:`StandInCodec`, a fixed random 1x1 projection of the latents to RGB, nearest
  upsampled 8x and repeated 4x in time, with the Wan VAE's frame counts (9 frames for the first
  chunk, 12 after) at 480x832. It is NOT the Wan VAE; its cost is timed apart from the generator.

It also times one chunk forward of the model against a bare block stack of the same size and
FLOPs (linears, LayerNorm, SDPA, GELU only: no modulation, RoPE, cache or candidate bookkeeping),
in the same run, and prints a profile of the model's forward (``--no-profile`` to skip). Attention
runs with the SDPA kernel preference of ``--attention`` (``run.attention``; default auto: cuDNN first
on Hopper), the bare stack's too; the chunk forward is also timed once with each kernel first.

Everything runs once per mode (``--modes``): ``eager`` and ``compiled`` (the generator's blocks
through ``torch.compile``, as ``run.compile`` does; the warm-up searches pay the compilation). The
search overhead is the engine's own wall time (its lap timing, ``trace.timing``) minus the time
inside the generator's denoise/commit, decode and reward calls (each synchronised). The run ends
with every issue-13 target and PASS/FAIL.

Usage::

    python benchmarks/wan_gpu.py            # full size, CUDA
    python benchmarks/wan_gpu.py --tiny     # tiny-test model on CPU, seconds (does the script work?)
    python benchmarks/wan_gpu.py --tiny --tiny-latent 60 104 --frames 30 --modes eager  # CPU, 480x832 frames
    python benchmarks/wan_gpu.py --authors  # also the same search as the authors' release executes it

``--authors`` runs Stream-T1 (same model, stand-in rewards, K, M and seeds) a second way, as the
authors' release executes it: candidates denoised one at a time, a deep copy of the whole KV cache
per candidate, the clean pass for all K*M candidates, and the reward window decoded from scratch
every chunk; then prints our speed-up (their time / ours) and memory ratio (their peak / ours).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import gc
import json
import os
import tempfile
import time
import traceback
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from streamt1.config import ATTENTION_CHOICES, SearchConfig, build_config
from streamt1.interfaces import Decoded, PlannedVideoReward, Route, VideoScore, unit_float
from streamt1.models.causal_wan import CausalWan, rope_frame_angles, sdpa_preference, splits_keys
from streamt1.models.config import StreamConfig, WanConfig
from streamt1.models.generator import CausalWanGenerator
from streamt1.models.kv_cache import KVCache
from streamt1.search.beam import StreamSearch
from streamt1.search.noise import candidate_seed, draw_noise, make_generators, propagate_noise
from streamt1.search.pruning import fuse, mix_alpha, select_top_k
from streamt1.search.sinking import quality_gate, route_evicted, transition_gate

PROMPT = "a red fox runs through fresh snow at dawn"
GIB = 2**30


# ----- stand-ins ---------------------------------------------------------------------------------


class StandInCodec:
    """Stand-in for the Wan VAE with its geometry: 4x in time (causal: 1 + 4(F-1) frames first), 8x in space.

    Frames are ``sigmoid(P z)`` for a fixed random 1x1 projection ``P`` (channels -> RGB), repeated 4x in
    time (the first latent frame of the stream once) and nearest-upsampled 8x. The cache is the number of
    chunks decoded, shared by all streams (every stream is at the same chunk).
    """

    temporal = 4
    spatial = 8

    def __init__(self, channels: int, device: torch.device) -> None:
        g = torch.Generator().manual_seed(0)
        self.projection = (torch.randn(3, channels, generator=g) / channels**0.5).to(device)

    @property
    def latent_channels(self) -> int:
        return self.projection.shape[1]

    @property
    def spatial_factor(self) -> int:
        return self.spatial

    def frames_per_chunk(self, latent_frames: int) -> int:
        return self.temporal * latent_frames

    def first_chunk_frames(self, latent_frames: int) -> int:
        return 1 + self.temporal * (latent_frames - 1)

    def initial_cache(self, n: int) -> int:
        return 0

    def select_cache(self, cache: int, index: Tensor) -> int:
        return cache

    def encode(self, frames: Tensor) -> Tensor:
        raise NotImplementedError("the stand-in codec only decodes")

    def decode_chunk(self, latents: Tensor, cache: int) -> tuple[Tensor, int]:
        rgb = torch.einsum("oc,ncfhw->nfohw", self.projection, latents.float()).sigmoid()  # [N, F, 3, h, w]
        rgb = rgb.repeat_interleave(self.temporal, 1)
        if cache == 0:  # a causal VAE decodes the stream's first latent frame to one frame
            rgb = rgb[:, self.temporal - 1 :]
        n, t = rgb.shape[:2]
        up = torch.nn.functional.interpolate(rgb.flatten(0, 1), scale_factor=self.spatial, mode="nearest")
        return up.unflatten(0, (n, t)), cache + 1


class BrightnessReward:
    """Image reward stand-in: mean intensity per frame.

    ``ramp``: plus the number of calls so far (one per chunk), so every chunk passes the quality gate.
    """

    def __init__(self, ramp: bool = False) -> None:
        self.ramp, self.calls = ramp, 0

    def __call__(self, frames: Tensor, prompts) -> Tensor:
        self.calls += 1
        return unit_float(frames).mean(dim=(1, 2, 3)) + (self.calls if self.ramp else 0)


class SteadinessReward:
    """Video reward stand-in: brightness minus the mean frame-to-frame change.

    Like VideoAlign it reads the clip at 2 fps (its ``frame_plan``, so the engine gathers only those
    frames) and reduced resolution (every 2nd row and column), moved to ``device``.
    ``ramp``: minus the number of calls so far, so every chunk passes the transition gate; with the
    ramped image reward every evicted chunk is APPENDed until the sinks hold ``max_sink_frames``
    (the memory worst case of memory sinking).
    """

    def __init__(self, device: torch.device, ramp: bool = False) -> None:
        self.device, self.ramp, self.calls = device, ramp, 0

    def frame_plan(self, num_frames: int, fps: float) -> Tensor:
        return torch.arange(0, num_frames, max(1, round(fps / 2)))

    def __call__(self, clips: Tensor, prompts, fps: float) -> VideoScore:
        return self.score_planned(clips[:, self.frame_plan(clips.shape[1], fps)], prompts, fps)

    def score_planned(self, frames: Tensor, prompts, fps: float) -> VideoScore:
        self.calls += 1
        clips = unit_float(frames[..., ::2, ::2]).to(self.device)
        bright = clips.mean(dim=(1, 2, 3, 4))
        change = (clips[:, 1:] - clips[:, :-1]).abs().mean(dim=(1, 2, 3, 4)) if clips.shape[1] > 1 else 0 * bright
        overall = bright - change - (self.calls if self.ramp else 0)
        return VideoScore(overall=overall, parts={"bright": bright, "steady": -change})


# ----- timing ------------------------------------------------------------------------------------


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class TimedReward:
    """Delegates to a reward and adds up the synchronised wall time and the number of its calls
    (``__call__`` and, for a reward with a frame plan, ``score_planned``; the plan itself is not timed)."""

    def __init__(self, inner, device: torch.device) -> None:
        self.inner, self.device, self.seconds, self.calls = inner, device, 0.0, 0
        if isinstance(inner, PlannedVideoReward):
            self.frame_plan = inner.frame_plan

    def __call__(self, *args, **kwargs):
        return self._timed(self.inner, *args, **kwargs)

    def score_planned(self, *args, **kwargs):
        return self._timed(self.inner.score_planned, *args, **kwargs)

    def _timed(self, score, *args, **kwargs):
        sync(self.device)
        start = time.perf_counter()
        out = score(*args, **kwargs)
        sync(self.device)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return out


class GcPauses:
    """Adds up the garbage collector's pauses while active (``gc.callbacks``): a collection stops
    the host wherever it falls, inside a generator call or in the engine's own phases."""

    def __init__(self) -> None:
        self.seconds, self.runs, self._start = 0.0, 0, 0.0

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.runs += 1

    def __enter__(self) -> "GcPauses":
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self._callback)


class TimedGenerator:
    """Delegates to a generator and adds up the synchronised wall time of its calls, by method."""

    timed = ("encode_prompt", "initial_state", "denoise", "decode", "commit")

    def __init__(self, inner: CausalWanGenerator) -> None:
        self.inner = inner
        self.seconds = dict.fromkeys(self.timed, 0.0)
        self.last_state = None  # what the last commit returned

    def __getattr__(self, name: str):
        attr = getattr(self.inner, name)
        if name not in self.timed:
            return attr

        def timed(*args, **kwargs):
            sync(self.inner.device)
            start = time.perf_counter()
            out = attr(*args, **kwargs)
            sync(self.inner.device)
            self.seconds[name] += time.perf_counter() - start
            if name == "commit":
                self.last_state = out[0]  # commit returns (state, routes applied)
            return out

        return timed


@dataclass
class Measurement:
    method: str
    latent_frames: int
    px_frames: int
    total_s: float
    generator_s: float  # denoise + commit
    decode_s: float
    peak_gib: float
    sink_frames: list[int]
    cache_gib: float  # the final state's KV cache
    mode: str = "eager"
    reward_s: float = float("nan")  # inside the image and video reward calls
    overhead: dict[str, float] | None = None  # engine wall time outside model, decode and reward calls, by phase

    @property
    def overhead_s(self) -> float:
        return sum(self.overhead.values()) if self.overhead else float("nan")

    @property
    def overhead_pct(self) -> float:
        """Search overhead in % of the engine's whole run (its ``total`` lap)."""
        return 100 * self.overhead_s / self.engine_s if self.overhead else float("nan")

    engine_s: float = float("nan")  # the engine's own total (trace.timing["total"])
    forwards: int = 0  # the trace's generator_forwards summed over chunks (search/trace.py documents what counts)
    gc_s: float = float("nan")  # Python's garbage collector's pauses during the search (in any phase)
    gc_runs: int = 0

    @property
    def latent_fps(self) -> float:
        return self.latent_frames / self.generator_s

    @property
    def px_fps(self) -> float:
        return self.px_frames / self.generator_s


def cache_bytes(cache: KVCache) -> int:
    """K/V of every layer (their allocations: the free slots for the next chunk included) plus the EMA
    rounding residuals, if any are kept."""
    tensors = (*cache.keys, *cache.values, *(cache.ema_residual_keys or ()), *(cache.ema_residual_values or ()))
    return sum(t.untyped_storage().nbytes() for t in tensors)


def search_overhead(timing: dict[str, float], generator: TimedGenerator, reward_s: float) -> dict[str, float]:
    """The engine's wall time outside the model, decode and reward calls, per phase of its laps:
    ``expand`` (candidates, noise: the denoise lap less the denoise calls), ``frames`` (decoded frames
    to uint8), ``score`` (scoring and selection steps, the final pick: less the reward calls),
    ``commit`` (gates, routes, trace records: less the commit calls), ``setup`` (before the first
    chunk: less encoding the prompt and the first state), ``other`` (outside every lap)."""
    calls = generator.seconds
    laps = {k: timing.get(k, 0.0) for k in ("setup", "denoise", "decode", "score", "commit", "final", "switch")}
    return {
        "setup": laps["setup"] - calls["encode_prompt"] - calls["initial_state"],
        "expand": laps["denoise"] - calls["denoise"],
        "frames": laps["decode"] - calls["decode"],
        "score": laps["score"] + laps["final"] - reward_s,
        "commit": laps["commit"] + laps["switch"] - calls["commit"],
        "other": timing["total"] - sum(laps.values()),
    }


def measure(generator: CausalWanGenerator, method: str, num_frames: int, seed: int, full_sinks: bool = False
            ) -> Measurement:
    """One search, timed; peak memory since the reset at its start. ``full_sinks``: ramped rewards."""
    device = generator.device
    timed = TimedGenerator(generator)
    rewards = TimedReward(BrightnessReward(full_sinks), device), TimedReward(SteadinessReward(device, full_sinks), device)
    search = StreamSearch(timed, build_config(method).search, *rewards, method)
    if device.type == "cuda":  # no empty_cache(): the row would pay cudaMalloc for its first chunks
        torch.cuda.reset_peak_memory_stats(device)
    sync(device)
    start = time.perf_counter()
    with GcPauses() as pauses:
        result = search.run(PROMPT, num_frames, seed, progress=False)
        sync(device)
    total = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / GIB if device.type == "cuda" else float("nan")
    s, state = timed.seconds, timed.last_state
    reward_s = sum(r.seconds for r in rewards)
    timing = result.trace.timing
    return Measurement(
        method=method + ("*" if full_sinks else ""), latent_frames=num_frames, px_frames=result.frames.shape[0], total_s=total,
        generator_s=s["denoise"] + s["commit"], decode_s=s["decode"], peak_gib=peak,
        sink_frames=state.sink_frames(), cache_gib=cache_bytes(state.cache) / GIB, mode=mode_name(generator),
        reward_s=reward_s, overhead=search_overhead(timing, timed, reward_s), engine_s=timing["total"],
        gc_s=pauses.seconds, gc_runs=pauses.runs,
        forwards=sum(chunk.calls.get("generator_forwards", 0) for chunk in result.trace.chunks),
    )


KERNEL_KINDS = (  # (kind, substrings of kernel names), first match wins
    ("attention", ("fmha", "flash", "sdpa", "attention")),
    ("gemm", ("gemm", "nvjet", "cutlass", "xmma", "cublas")),
    ("triton (compiled)", ("triton",)),
    ("copies", ("copy",)),  # device copies and memsets (and kernels named so)
)


def gpu_busy(generator: CausalWanGenerator, method: str, num_frames: int) -> None:
    """How much of one search's span the GPU was busy (the union of its kernels and copies, from a
    CUDA-only torch.profiler trace), the idle time in short gaps (< 1 ms: the host launching late,
    stream syncs) and long ones (the engine's host phases), and the kernel time by kind."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        measure(generator, method, num_frames, seed=1)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "trace.json")
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)["traceEvents"]
    spans = sorted((e["ts"], e["ts"] + e["dur"], e["name"] if e["cat"] == "kernel" else "copy")
                   for e in events if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset") and "dur" in e)
    if not spans or spans[-1][1] <= spans[0][0]:
        print(f"  {method} {num_frames}: the profiler recorded no GPU events")
        return
    busy = short_gaps = long_gaps = 0.0
    end = spans[0][0]
    kinds: dict[str, float] = {}
    for start, stop, name in spans:
        gap = start - end
        if gap > 0:
            short_gaps, long_gaps = (short_gaps + gap, long_gaps) if gap < 1000 else (short_gaps, long_gaps + gap)
        busy += max(0.0, stop - max(start, end))
        end = max(end, stop)
        lower = name.lower()
        kind = next((k for k, keys in KERNEL_KINDS if any(key in lower for key in keys)), "other")
        kinds[kind] = kinds.get(kind, 0.0) + stop - start
    span = end - spans[0][0]
    by_kind = ", ".join(f"{k} {v / 1e6:.2f} s" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
    print(f"  {method:<10} {mode_name(generator):<8} {num_frames:>4}: GPU busy {busy / span:.1%} of {span / 1e6:.2f} s; "
          f"idle in gaps < 1 ms {short_gaps / 1e6:.3f} s, >= 1 ms {long_gaps / 1e6:.3f} s; kernels: {by_kind}", flush=True)


def median_run(runs: list[Measurement]) -> Measurement:
    """The run of median generator time (the upper one of an even count): one real run, so its
    columns stay consistent with each other."""
    return sorted(runs, key=lambda r: r.generator_s)[len(runs) // 2]


def mode_name(generator: CausalWanGenerator) -> str:
    from streamt1.models.causal_wan import EAGER_STAGES

    return "eager" if generator.model.stages == EAGER_STAGES else "compiled"


# ----- the same search, executed the way the authors' release executes it -------------------------


@dataclass
class _AuthorsHistory:
    state: object  # this history's own generator state (its own whole cache)
    latents: list[Tensor]  # every committed chunk's latents [1, C, F, H, W]
    frames: list[Tensor]  # every committed chunk's decoded frames [T, 3, H, W] uint8
    shorts: list[float]
    longs: list[float]
    gates: list[tuple[bool, bool]]  # (quality, transition) of every committed chunk
    noise: Tensor | None = None  # the x_T of its last chunk (noise propagation reads it)


def _decode_window(generator: CausalWanGenerator, state, latents: list[Tensor]) -> tuple[Tensor, object, Tensor]:
    """The authors decode the reward window from scratch every chunk: a fresh decoder over all its
    latents. Returns the window's frames, the decoder state after it and the last chunk's frames."""
    state = dataclasses.replace(state, decoder_cache=generator.codec.initial_cache(1))
    one, frames = torch.zeros(1, dtype=torch.long), []
    for lat in latents:
        decoded = generator.decode(state, one, lat)
        state = dataclasses.replace(state, decoder_cache=decoded.cache)
        frames.append((decoded.frames[0].clamp(0, 1) * 255).round().to(torch.uint8).cpu())
    return torch.cat(frames), state.decoder_cache, frames[-1]


def authors_search(generator: CausalWanGenerator, config: SearchConfig, image_reward, video_reward,
                   num_frames: int, seed: int) -> tuple[Tensor, list[int]]:
    """Stream-T1 with the same model, rewards and rules, in the release's execution: candidates one at
    a time, a deep copy of the whole cache per candidate, the clean pass for all K*M candidates, and
    the reward window decoded again from scratch every chunk. Returns the video and the sink sizes."""
    spec, c = generator.spec, generator.stream.chunk_frames
    root = generator.initial_state(generator.encode_prompt(PROMPT), 1)
    histories = [_AuthorsHistory(root, [], [], [], [], [])]
    for n in range(spec.num_chunks(num_frames)):
        per_history = config.candidates_per_chunk if n == 0 else config.expansions
        alpha = mix_alpha(n * c, num_frames, c, config.tau)
        candidates = []
        for h, history in enumerate(histories):
            for m in range(per_history):
                i = h * per_history + m
                gens = make_generators([candidate_seed(seed, n, i)])
                noise = draw_noise(spec.latent_shape, gens)
                if config.noise_propagation and n > 0:
                    noise = propagate_noise(history.noise[None], noise, config.noise_fusion_sigma)
                state = dataclasses.replace(history.state, cache=copy.deepcopy(history.state.cache))
                one = torch.zeros(1, dtype=torch.long)
                lat = generator.denoise(state, one, noise, gens)
                window = history.latents[-(config.long_window_chunks - 1):] if n else []
                clip, decoder, frames = _decode_window(generator, state, [*window, lat])
                short = float(image_reward(unit_float(frames), [PROMPT] * len(frames)).float().mean())
                long = float(video_reward(clip[None], [PROMPT], spec.fps).overall[0])
                routes = _authors_routes(generator, history, config)
                frames_gpu = unit_float(frames)[None].to(generator.device)
                state, _ = generator.commit(state, one, lat, Decoded(frames_gpu, decoder), routes, config.sink_limits)
                candidates.append((history, state, lat, frames, short, long, noise[0]))
        fused = fuse(torch.tensor([x[4] for x in candidates]), torch.tensor([x[5] for x in candidates]),
                     alpha, config.fusion)
        keep = select_top_k(fused, config.histories).tolist()
        histories = [_grow(candidates[i], config) for i in keep]
    video = torch.cat(histories[0].frames)
    return video, [h.state.sink_frames()[0] for h in histories]


def _authors_routes(generator, history: _AuthorsHistory, config: SearchConfig) -> list[Route]:
    evicted = generator.evicted_chunk(history.state)
    if evicted is None or not config.memory_sinking:
        return [Route.DISCARD]
    return [route_evicted(*history.gates[evicted])]


def _grow(candidate, config: SearchConfig) -> _AuthorsHistory:
    parent, state, lat, frames, short, long, noise = candidate
    quality = quality_gate(short, parent.shorts, config.quality_threshold)
    transition = transition_gate(parent.longs[-1] if parent.longs else None, long, config.transition_threshold)
    return _AuthorsHistory(state, [*parent.latents, lat], [*parent.frames, frames], [*parent.shorts, short],
                           [*parent.longs, long], [*parent.gates, (quality, transition)], noise)


def measure_authors(generator: CausalWanGenerator, num_frames: int, seed: int) -> Measurement:
    """:func:`authors_search` timed like :func:`measure` (generator time: denoise + commit)."""
    device = generator.device
    timed = TimedGenerator(generator)
    if device.type == "cuda":  # no empty_cache(): the row would pay cudaMalloc for its first chunks
        torch.cuda.reset_peak_memory_stats(device)
    sync(device)
    start = time.perf_counter()
    video, sinks = authors_search(timed, build_config("stream-t1").search, BrightnessReward(),
                                  SteadinessReward(device), num_frames, seed)
    sync(device)
    total = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / GIB if device.type == "cuda" else float("nan")
    s = timed.seconds
    return Measurement(
        method="authors", latent_frames=num_frames, px_frames=video.shape[0], total_s=total,
        generator_s=s["denoise"] + s["commit"], decode_s=s["decode"], peak_gib=peak, sink_frames=sinks,
        cache_gib=cache_bytes(timed.last_state.cache) / GIB,
    )


def time_ms(fn, iters: int, device: torch.device) -> float:
    """Mean synchronised wall time of ``fn()`` over ``iters`` calls, after one warm-up call."""
    with torch.no_grad():
        fn()
        sync(device)
        start = time.perf_counter()
        for _ in range(iters):
            fn()
        sync(device)
    return (time.perf_counter() - start) / iters * 1000


def forward_ms(generator: CausalWanGenerator, batch: int, iters: int, profile: bool = False) -> float:
    """Mean time of one chunk forward at ``batch`` against a full window (sink + 6 frames + the chunk).

    Candidates read their histories as Stream-T1's denoise does: two candidates per history (parent
    rows 0, 0, 1, 1, ...); batch 1 reads its one history. ``profile``: print the top ops of one more forward.
    """
    model, stream, device = generator.model, generator.stream, generator.device
    cfg = model.config
    histories = max(1, batch // 2)
    cache = KVCache.empty(histories, cfg.num_layers, cfg.num_heads, cfg.head_dim, generator.tokens_per_frame,
                          stream, device=device, dtype=model.dtype, frame_angles=rope_frame_angles(cfg))
    g = torch.Generator(device).manual_seed(0)
    kv_shape = (histories, stream.chunk_frames * generator.tokens_per_frame, cfg.num_heads, cfg.head_dim)
    while not cache.evicts_on_append:
        kv = [torch.randn(kv_shape, generator=g, device=device, dtype=model.dtype) for _ in range(cfg.num_layers)]
        cache = cache.append_chunk(kv, kv, torch.arange(cache.next_frame, cache.next_frame + stream.chunk_frames))
    x = torch.randn(batch, *generator.spec.latent_shape, generator=g, device=device)
    t = torch.full((batch, stream.chunk_frames), 937.5, device=device)
    text = generator.encode_prompt(PROMPT)
    index = torch.arange(histories).repeat_interleave(batch // histories)  # on the host, as the engine passes it
    elapsed = time_ms(lambda: model.forward_chunk(x, t, text, cache, index), iters, device)
    if profile:
        activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
        with torch.no_grad(), torch.profiler.profile(
                activities=activities if device.type == "cuda" else activities[:1]) as prof:
            model.forward_chunk(x, t, text, cache, index)
            sync(device)
        key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
        print(prof.key_averages().table(sort_by=key, row_limit=20, max_name_column_width=50))
    return elapsed


class BareBlock(nn.Module):
    """A Wan-sized block with the same matmul and attention FLOPs and nothing else (the brief's §5 stack)."""

    def __init__(self, cfg: WanConfig) -> None:
        super().__init__()
        dim, self.heads = cfg.dim, cfg.num_heads
        self.norms = nn.ModuleList(nn.LayerNorm(dim, cfg.eps) for _ in range(3))
        self.qkv, self.o = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.cross_q, self.cross_o = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.ffn = nn.Sequential(nn.Linear(dim, cfg.ffn_dim), nn.GELU(approximate="tanh"), nn.Linear(cfg.ffn_dim, dim))

    def forward(self, x: Tensor, past: tuple[Tensor, Tensor], text: tuple[Tensor, Tensor]) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(self.norms[0](x)).view(b, n, 3, self.heads, -1).unbind(2)  # [B, n, H, D] each
        keys, values = torch.cat([past[0], k], 1), torch.cat([past[1], v], 1)
        attend = lambda q, k, v: F.scaled_dot_product_attention(*(t.transpose(1, 2) for t in (q, k, v))).transpose(1, 2)
        x = x + self.o(attend(q, keys, values).reshape(b, n, c))
        cq = self.cross_q(self.norms[1](x)).view(1, b * n, self.heads, -1)  # candidates share the prompt
        x = x + self.cross_o(attend(cq, *text).reshape(b, n, c))
        return x + self.ffn(self.norms[2](x))


def bare_stack_ms(generator: CausalWanGenerator, batch: int, iters: int) -> float:
    """One chunk forward of :class:`BareBlock` x num_layers against the same window and prompt length."""
    cfg, device, dtype = generator.model.config, generator.device, generator.model.dtype
    stream, tokens = generator.stream, generator.tokens_per_frame
    with device:
        blocks = nn.ModuleList(BareBlock(cfg) for _ in range(cfg.num_layers)).to(dtype)
    g = torch.Generator(device).manual_seed(0)
    randn = lambda *shape: torch.randn(*shape, generator=g, device=device, dtype=dtype)
    past_frames = stream.sink_frames + stream.rolling_frames
    past = randn(batch, past_frames * tokens, cfg.num_heads, cfg.head_dim)  # one for every layer
    text = randn(1, cfg.text_len, cfg.num_heads, cfg.head_dim)
    x = randn(batch, stream.chunk_frames * tokens, cfg.dim)

    def forward() -> Tensor:
        h = x
        with sdpa_preference(generator.model.attention_order):  # the kernels the model's forward uses
            for block in blocks:
                h = block(h, (past, past), (text, text))
        return h

    return time_ms(forward, iters, device)


# ----- setup and report --------------------------------------------------------------------------


def build_generator(tiny: bool, device: torch.device, tiny_latent: tuple[int, int] = (4, 8)) -> CausalWanGenerator:
    cfg = WanConfig.preset("tiny-test" if tiny else "wan2.1-t2v-1.3b")
    dtype = torch.float32 if tiny else torch.bfloat16
    torch.manual_seed(0)
    with device:
        model = CausalWan(cfg)  # Wan's init; the output layer starts at zero, so give it weights
        torch.nn.init.normal_(model.head.head.weight, std=0.02)
    latent = tiny_latent if tiny else (60, 104)  # 832x480 / 8
    text_states = torch.randn(1, cfg.text_len, cfg.text_dim, device=device, generator=torch.Generator(device).manual_seed(1))

    def text_encoder(prompts: list[str]) -> Tensor:  # stand-in for umT5: fixed random states
        return text_states.expand(len(prompts), -1, -1)

    codec = StandInCodec(cfg.in_dim, device)
    return CausalWanGenerator(model, StreamConfig(), text_encoder, codec, latent, fps=16, device=device,
                              dtype=dtype)


# Issue 13's targets on one H200
FORWARD_RATIO_MAX = 1.05  # chunk forward / bare block stack, batch 1
SINGLE_PATH_PX_FPS_MIN = 42.0  # single path, every length measured
STREAM_T1_RATIO_MAX = 3.3  # Stream-T1 generator time / single path's, at the longest length (30 s)
OVERHEAD_PCT_MAX = 5.0  # search overhead of Stream-T1, every length measured


def forwards_note(row: Measurement, base: Measurement) -> str:
    """The search's candidate forwards against the single path's, and the time per forward against
    its: the generator-time ratio is their product, so the first is the ratio at equal cost per
    forward (batching candidates is what can bring the time below it)."""
    if not (row.forwards and base.forwards):
        return "(forwards not counted)"
    count = row.forwards / base.forwards
    return f"(forwards x{count:.2f}, time per forward x{row.generator_s / base.generator_s / count:.3f})"


def report(rows: list[Measurement], ratios: bool = True) -> None:
    head = (f"{'method':<10} {'mode':<8} {'lat':>4} {'px':>4} {'gen s':>7} {'lat f/s':>8} {'px f/s':>7} "
            f"{'decode s':>8} {'reward s':>8} {'total s':>8} {'ovh %':>6} {'peak GiB':>9} {'cache GiB':>9}  sinks")
    print(head)
    for r in rows:
        print(f"{r.method:<10} {r.mode:<8} {r.latent_frames:>4} {r.px_frames:>4} {r.generator_s:>7.2f} "
              f"{r.latent_fps:>8.2f} {r.px_fps:>7.1f} {r.decode_s:>8.2f} {r.reward_s:>8.2f} {r.total_s:>8.2f} "
              f"{r.overhead_pct:>6.2f} {r.peak_gib:>9.2f} {r.cache_gib:>9.2f}  {r.sink_frames}", flush=True)
    if not ratios:
        return
    print("\nStream-T1 vs single path (same length and mode):")
    for mode in dict.fromkeys(r.mode for r in rows):
        for length in sorted({r.latent_frames for r in rows if r.mode == mode}):
            base = next(r for r in rows if r.latent_frames == length and r.method == "none" and r.mode == mode)
            for r in rows:
                if r.latent_frames == length and r.method != "none" and r.mode == mode:
                    print(f"  {r.method:<10} {mode:<8} {length:>4} latent frames: generator time "
                          f"x{r.generator_s / base.generator_s:.2f} {forwards_note(r, base)}, peak memory "
                          f"x{r.peak_gib / base.peak_gib:.2f} (target <= 2), total time x{r.total_s / base.total_s:.2f}")
    print("\nSearch overhead (engine wall time outside model, decode and reward calls), seconds by phase:")
    for r in rows:
        parts = ", ".join(f"{k} {v:.3f}" for k, v in (r.overhead or {}).items())
        print(f"  {r.method:<10} {r.mode:<8} {r.latent_frames:>4}: {r.overhead_s:.3f} s of {r.engine_s:.2f} s "
              f"= {r.overhead_pct:.2f} % ({parts}); garbage collector {r.gc_s:.3f} s in {r.gc_runs} runs, any phase")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report_targets(forwards: dict[str, dict[int, float]], bare: dict[int, float], rows: list[Measurement]) -> None:
    """Every issue-13 target, per mode, with PASS/FAIL."""
    print("\nIssue 13 targets (one run):")
    for mode, by_batch in forwards.items():
        ratio = by_batch[1] / bare[1]
        extra = "".join(f"; batch {b}: {ms / b:.1f} vs {bare[b] / b:.1f} ms/sample, x{ms / bare[b]:.3f}"
                        for b, ms in by_batch.items() if b > 1)
        print(f"  [{verdict(ratio <= FORWARD_RATIO_MAX)}] chunk forward / bare block stack, {mode}: batch 1 "
              f"{by_batch[1]:.1f} vs {bare[1]:.1f} ms = x{ratio:.3f} (target <= {FORWARD_RATIO_MAX}){extra}")
    for mode in dict.fromkeys(r.mode for r in rows):
        singles = [r for r in rows if r.method == "none" and r.mode == mode]
        worst = min(r.px_fps for r in singles)
        each = ", ".join(f"{r.latent_frames} latent: {r.px_fps:.1f}" for r in singles)
        print(f"  [{verdict(worst >= SINGLE_PATH_PX_FPS_MIN)}] single path px-frames/s, {mode}: {each} "
              f"(target >= {SINGLE_PATH_PX_FPS_MIN:g} at every length)")
        lengths = sorted(r.latent_frames for r in singles)
        for length in lengths:
            base = next(r for r in singles if r.latent_frames == length)
            st1 = next((r for r in rows if r.method == "stream-t1" and r.mode == mode and r.latent_frames == length), None)
            if st1 is None:
                continue
            ratio = st1.generator_s / base.generator_s
            seconds = base.px_frames / 16
            tag = verdict(ratio <= STREAM_T1_RATIO_MAX) if length == lengths[-1] else "info"
            print(f"  [{tag}] Stream-T1 generator time / single path, {mode}, {length} latent ({seconds:.0f} s at 16 fps): "
                  f"x{ratio:.2f} (target <= {STREAM_T1_RATIO_MAX} at the longest length) {forwards_note(st1, base)}")
        for r in rows:
            if r.method == "stream-t1" and r.mode == mode:
                print(f"  [{verdict(r.overhead_pct <= OVERHEAD_PCT_MAX)}] search overhead, Stream-T1, {mode}, "
                      f"{r.latent_frames} latent: {r.overhead_pct:.2f} % (target <= {OVERHEAD_PCT_MAX:g} %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny-test model on CPU (checks the script)")
    parser.add_argument("--tiny-latent", type=int, nargs=2, default=(4, 8), metavar=("H", "W"),
                        help="latent size of --tiny (default 4 8; 60 104 gives 480x832 frames: the engine's "
                             "frame copies at full size, its search overhead measured on the CPU)")
    parser.add_argument("--frames", type=int, nargs="+", default=None,
                        help="latent frames per video (default 21 120; --tiny: 9 15)")
    parser.add_argument("--ramped-frames", type=int, nargs="*", default=None,
                        help="lengths of the ramped (sinks fill) Stream-T1 rows, eager only (default: the shortest length)")
    parser.add_argument("--gpu-busy", type=int, default=None, metavar="FRAMES",
                        help="also profile one search of FRAMES latent frames per method and mode: GPU busy "
                             "fraction, idle gaps, kernel time by kind (CUDA only)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs of every search row; the row shown is the run of median generator time "
                             "(runs of one machine spread by a few %%)")
    parser.add_argument("--iters", type=int, default=10, help="timed iterations per forward measurement")
    parser.add_argument("--no-profile", action="store_true", help="skip the profile of a batch-4 chunk forward")
    parser.add_argument("--modes", nargs="+", choices=("eager", "compiled"), default=["eager", "compiled"],
                        help="eager, and/or the blocks through torch.compile (run.compile)")
    parser.add_argument("--compile-mode", default=None, help="torch.compile's mode (default: its default)")
    parser.add_argument("--compile-backend", default=None,
                        help="torch.compile's backend (default inductor; --tiny: aot_eager, inductor takes minutes on a CPU)")
    parser.add_argument("--attention", default="auto", choices=ATTENTION_CHOICES,
                        help="SDPA kernel tried first (run.attention; default auto: cuDNN on Hopper)")
    parser.add_argument("--authors", action="store_true",
                        help="also run Stream-T1 as the authors' release executes it and print our speed-up (eager)")
    parser.add_argument("--authors-frames", type=int, nargs="+", default=None,
                        help="lengths of the --authors comparison (default: the shortest length; it is slow)")
    args = parser.parse_args()
    device = torch.device("cpu" if args.tiny else "cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --tiny for the CPU check")
    if args.modes != sorted(args.modes, key=("eager", "compiled").index):
        raise SystemExit("--modes: eager runs before compiled (compiling is not undone)")
    if args.repeats < 1:
        raise SystemExit(f"--repeats {args.repeats}: expected >= 1")
    frames = args.frames or ([9, 15] if args.tiny else [21, 120])
    if args.authors_frames and not set(args.authors_frames) <= set(frames):
        raise SystemExit(f"--authors-frames {args.authors_frames} must be among the measured lengths {frames}")
    ramped = args.ramped_frames if args.ramped_frames is not None else frames[:1]
    backend = args.compile_backend or ("aot_eager" if args.tiny else "inductor")
    torch.backends.cuda.matmul.allow_tf32 = True
    generator = build_generator(args.tiny, device, tuple(args.tiny_latent))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {name}, torch {torch.__version__}, dtype {generator.model.dtype}, "
          f"latent {generator.latent_size}, {generator.tokens_per_frame} tokens/frame, stand-in codec and rewards")
    if device.type == "cuda":  # the kernels side by side (eager), then the run's choice for everything below
        for choice in ("default", "flash", "cudnn", "efficient", "auto"):  # auto: cuDNN + split keys at batch 1
            generator.set_attention(choice)
            ms = [forward_ms(generator, batch, args.iters) for batch in (1, 4)]
            print(f"attention {choice:9s}: chunk forward {ms[0]:.1f} ms at batch 1, {ms[1] / 4:.1f} ms/sample at batch 4")
    generator.set_attention(args.attention)
    print(f"attention {args.attention}: SDPA kernels in order {generator.model.attention_order or 'of PyTorch'}")
    bare = {}
    for batch in (1, 4):
        bare[batch] = bare_stack_ms(generator, batch, args.iters)
        print(f"bare block stack, batch {batch}: {bare[batch]:.1f} ms, {bare[batch] / batch:.1f} ms/sample")
    forwards, rows = {}, []
    for mode in args.modes:
        try:
            run_mode(generator, mode, args, frames, ramped, backend, bare, forwards, rows)
        except Exception:  # a failed compile must not cost the eager results their summary
            if mode == "eager":
                raise
            forwards.pop(mode, None)
            rows[:] = [r for r in rows if r.mode != mode]
            print(f"\n{mode} mode FAILED, its results are left out:\n{traceback.format_exc()}", flush=True)
    print()
    report(rows)
    print("* ramped stand-in rewards: every evicted chunk passes both gates (APPEND until the sinks are full)")
    report_targets(forwards, bare, rows)


def run_mode(generator: CausalWanGenerator, mode: str, args: argparse.Namespace, frames: list[int], ramped: list[int],
             backend: str, bare: dict[int, float], forwards: dict, rows: list[Measurement]) -> None:
    """Forward timings, warm-up searches and the rows of one mode (and the authors' comparison after eager)."""
    if mode == "compiled":
        started = time.perf_counter()
        generator.compile(mode=args.compile_mode, backend=backend)
    forwards[mode] = {}
    for batch in (1, 4):
        profile = not args.no_profile and batch > 1 and mode == "eager"
        ms = forwards[mode][batch] = forward_ms(generator, batch, args.iters, profile)
        how = "its history" if batch == 1 else f"{batch // 2} histories x 2, as Stream-T1 denoises"
        print(f"{mode} forward of one chunk, batch {batch} ({how}): {ms:.1f} ms, {ms / batch:.1f} ms/sample "
              f"(bare x{ms / bare[batch]:.3f})", flush=True)
    if splits_keys(args.attention, generator.device, generator.model.dtype):  # split keys against one softmax
        generator.set_attention("cudnn")  # the same kernel in one piece
        whole = forward_ms(generator, 1, args.iters)
        generator.set_attention("auto")
        print(f"{mode} forward of one chunk, batch 1, cuDNN without split keys: {whole:.1f} ms "
              f"(split keys x{whole / forwards[mode][1]:.3f} faster)", flush=True)
    # Warm-up: every code path and shape once. The first eviction (routing, the sink gates) comes with
    # the chunk after the sink and the window's committed frames, the cache's final size with the next.
    stream = generator.stream
    warm_frames = stream.sink_frames + stream.rolling_frames + 2 * stream.chunk_frames
    for method in ("none", "stream-t1"):
        measure(generator, method, warm_frames, seed=0)
    if mode == "compiled":
        print(f"compiled ({backend}, mode {args.compile_mode}): compiling and warm-up took "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    plan = [(n, method, False) for n in frames for method in ("none", "stream-t1")]
    plan += [(n, "stream-t1", True) for n in ramped] if mode == "eager" else []
    for n, method, full_sinks in plan:
        runs = [measure(generator, method, n, seed=1, full_sinks=full_sinks) for _ in range(args.repeats)]
        rows.append(median_run(runs))
        report(rows[-1:], ratios=False)  # as it comes, in case the run is cut short
        if len(runs) > 1:
            gen, ovh = sorted(r.generator_s for r in runs), sorted(r.overhead_pct for r in runs)
            print(f"  {len(runs)} runs: generator {gen[0]:.2f}-{gen[-1]:.2f} s, overhead {ovh[0]:.2f}-{ovh[-1]:.2f} %; "
                  f"the row is the run of median generator time", flush=True)
    if args.gpu_busy:
        print(f"\nGPU busy during one search ({mode}; CUDA profiler on, so not the timed runs above):")
        for method in ("none", "stream-t1"):
            gpu_busy(generator, method, args.gpu_busy)
    if mode == "eager" and args.authors:  # before compiling: the authors' execution is eager
        compare_with_authors(generator, rows, args.authors_frames or frames[:1])


def compare_with_authors(generator: CausalWanGenerator, rows: list[Measurement], frames: list[int]) -> None:
    """The same search (model, rewards, K, M, seed) in the authors' execution, against our rows."""
    measure_authors(generator, 2 * generator.stream.chunk_frames, seed=0)  # warm-up
    print("\nStream-T1 as the authors' release executes it (one candidate at a time, a deep copy of the "
          "cache per candidate, the clean pass for all K*M, the reward window decoded from scratch):")
    authors = []
    for n in frames:
        authors.append(measure_authors(generator, n, seed=1))
        report(authors[-1:], ratios=False)
    for a in authors:
        ours = next(r for r in rows if r.latent_frames == a.latent_frames and r.method == "stream-t1"
                    and r.mode == "eager")
        print(f"  {a.latent_frames:>4} latent frames: our speed-up x{a.total_s / ours.total_s:.2f} total, "
              f"x{a.generator_s / ours.generator_s:.2f} generator, x{a.decode_s / max(ours.decode_s, 1e-9):.2f} "
              f"decode; memory ratio (authors / ours peak) x{a.peak_gib / ours.peak_gib:.2f}\n")


if __name__ == "__main__":
    main()
