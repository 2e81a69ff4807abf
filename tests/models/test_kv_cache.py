import dataclasses

import pytest
import torch

from streamt1.interfaces import Route, SinkLimits
from streamt1.models.causal_wan import CausalWan, block_causal_mask, rope_for_frames, rope_frame_angles
from streamt1.models.config import StreamConfig, WanConfig
from streamt1.models.kv_cache import KVCache

C = 3  # chunk frames
L = 2  # tokens per frame
LAYERS, HEADS, HEAD_DIM = 2, 2, 4


LIMITS = SinkLimits(max_sink_frames=9, ema_decay=0.75)


def stream(**overrides) -> StreamConfig:
    return StreamConfig(**{"window_frames": 6, **overrides})


def chunk_kv(b: int, seed: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    shape = (b, C * L, HEADS, HEAD_DIM)
    keys = [torch.randn(shape, generator=g) for _ in range(LAYERS)]
    return keys, [torch.randn(shape, generator=g) for _ in range(LAYERS)]


def commit(cache: KVCache, seed: int, routes: list[Route] | None = None) -> KVCache:
    if cache.evicts_on_append:
        cache = cache.route(routes or [Route.DISCARD] * cache.num_histories, LIMITS)
    k, v = chunk_kv(cache.num_histories, seed)
    return cache.append_chunk(k, v, torch.arange(cache.next_frame, cache.next_frame + C))


def filled(b: int = 2, chunks: int = 2, cfg: StreamConfig | None = None) -> KVCache:
    cache = KVCache.empty(b, LAYERS, HEADS, HEAD_DIM, L, cfg or stream())
    for j in range(chunks):
        cache = commit(cache, seed=j)
    return cache


def sink_keys(cache: KVCache, b: int, layer: int = 0) -> torch.Tensor:
    return cache.keys[layer][b, : cache.sink_lengths[b] * L]


def test_first_chunk_is_the_sink_and_window_rolls():
    cache = filled(chunks=1)
    assert cache.sink_frames() == [3, 3] and cache.window_length == 0
    assert cache.evicted_chunk() is None
    cache = commit(cache, 1)  # window (rolling = 6 - 3 = 3 frames) now full
    assert cache.window_length == 3 and cache.evicted_chunk() == 1
    cache = commit(cache, 2)
    assert cache.positions[0].tolist() == [0, 1, 2, 6, 7, 8]
    assert cache.evicted_chunk() == 2
    assert cache.keys[0].shape == (2, 6 * L, HEADS, HEAD_DIM)


def test_longlive_default_window_evicts_from_chunk_three():
    cache = KVCache.empty(1, LAYERS, HEADS, HEAD_DIM, L, StreamConfig())  # sink 3 + window 9
    evicted = []
    for j in range(6):
        evicted.append(cache.evicted_chunk())
        cache = commit(cache, j)
    assert evicted == [None, None, None, 1, 2, 3]
    assert cache.positions[0].tolist() == [0, 1, 2, 12, 13, 14, 15, 16, 17]


def test_discard_leaves_the_sink_unchanged():
    cache = filled()
    after = commit(cache, 5, [Route.DISCARD, Route.DISCARD])
    for layer in range(LAYERS):
        assert torch.equal(after.keys[layer][:, : 3 * L], cache.keys[layer][:, : 3 * L])
        assert torch.equal(after.values[layer][:, : 3 * L], cache.values[layer][:, : 3 * L])
    assert after.sink_frames() == [3, 3]


def test_ema_blends_the_newest_sink_segment():
    cache = filled()
    evicted_k = [k[:, 3 * L : 6 * L] for k in cache.keys]
    evicted_v = [v[:, 3 * L : 6 * L] for v in cache.values]
    after = cache.route([Route.EMA, Route.DISCARD], LIMITS)
    for layer in range(LAYERS):
        expected = 0.75 * cache.keys[layer][0, : 3 * L] + 0.25 * evicted_k[layer][0]
        torch.testing.assert_close(after.keys[layer][0, : 3 * L], expected)
        expected = 0.75 * cache.values[layer][0, : 3 * L] + 0.25 * evicted_v[layer][0]
        torch.testing.assert_close(after.values[layer][0, : 3 * L], expected)
        assert torch.equal(after.keys[layer][1, : 3 * L], cache.keys[layer][1, : 3 * L])  # DISCARD row
    assert after.positions[0, :3].tolist() == [0, 1, 2]  # the segment keeps its frames


def test_append_grows_the_sink_at_its_own_frames_until_full_then_emas():
    cache = filled(b=1, chunks=2)  # sink: chunk 0; window: chunk 1
    cache = commit(cache, 2, [Route.APPEND])  # chunk 1 -> sink
    assert cache.sink_frames() == [6]
    assert cache.positions[0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    cache = commit(cache, 3, [Route.DISCARD])  # chunk 2 dropped
    cache = commit(cache, 4, [Route.APPEND])  # chunk 3 -> sink (9 = max_sink_frames)
    assert cache.sink_frames() == [9]
    assert cache.positions[0].tolist()[:9] == [0, 1, 2, 3, 4, 5, 9, 10, 11]
    newest = cache.keys[0][0, 6 * L : 9 * L].clone()
    evicted = cache.keys[0][0, 9 * L : 12 * L].clone()
    full = cache.route([Route.APPEND], LIMITS)  # sink is full: APPEND becomes EMA into the newest segment
    assert full.sink_frames() == [9]
    torch.testing.assert_close(full.keys[0][0, 6 * L : 9 * L], 0.75 * newest + 0.25 * evicted)
    assert full.positions[0, :9].tolist() == [0, 1, 2, 3, 4, 5, 9, 10, 11]


def test_select_forks_histories_and_drops_unused_padding():
    cache = filled(b=2, chunks=2)
    cache = cache.route([Route.APPEND, Route.DISCARD], LIMITS)  # sinks 6 and 3: row 1 padded
    assert cache.sink_frames() == [6, 3] and cache.has_padding
    assert cache.valid[1].tolist() == [True] * 3 + [False] * 3
    picked = cache.select(torch.tensor([1, 1]))
    assert picked.sink_frames() == [3, 3] and not picked.has_padding
    assert picked.keys[0].shape[1] == 3 * L
    torch.testing.assert_close(picked.keys[1][0], cache.keys[1][1, : 3 * L])
    reordered = cache.select(torch.tensor([1, 0, 0]))
    assert reordered.sink_frames() == [3, 6, 6]
    assert torch.equal(reordered.keys[0][2], cache.keys[0][0])


def test_methods_never_modify_the_parent_cache():
    cache = filled(b=2, chunks=2)
    before = [k.clone() for k in cache.keys]
    commit(cache, 9, [Route.EMA, Route.APPEND])
    cache.select(torch.tensor([0]))
    assert all(torch.equal(a, b) for a, b in zip(before, cache.keys))
    assert cache.sink_frames() == [3, 3]


def test_commit_equals_select_route_append():
    cache = filled(b=3, chunks=2)
    cache = commit(cache, 2, [Route.APPEND, Route.DISCARD, Route.EMA])  # sinks 6, 3, 3 and a full window
    index = torch.tensor([0, 2, 0, 1])
    routes = [Route.EMA, Route.APPEND, Route.APPEND, Route.DISCARD]
    k, v = chunk_kv(4, 7)
    positions = torch.arange(cache.next_frame, cache.next_frame + C)
    fused = cache.commit(index, routes, k, v, positions, limits=LIMITS)
    steps = cache.select(index).route(routes, LIMITS).append_chunk(k, v, positions)
    assert fused.sink_frames() == steps.sink_frames() == [6, 6, 9, 3]
    assert torch.equal(fused.positions, steps.positions) and torch.equal(fused.valid, steps.valid)
    for layer in range(LAYERS):
        assert torch.equal(fused.keys[layer], steps.keys[layer])
        assert torch.equal(fused.values[layer], steps.values[layer])


def test_bf16_ema_accumulates_in_float32_instead_of_rounding_away():
    """a = 0.999: each update is below half a bf16 step, yet 30 of them must move the sink."""
    cache = KVCache.empty(1, LAYERS, HEADS, HEAD_DIM, L, stream(), dtype=torch.bfloat16)
    limits = SinkLimits(max_sink_frames=9, ema_decay=0.999)
    shape = (1, C * L, HEADS, HEAD_DIM)
    for j in range(32):  # chunk 0 (ones) is the sink; chunks 1..30 (twos) are evicted into it by EMA
        if cache.evicts_on_append:
            cache = cache.route([Route.EMA], limits)
        kv = [torch.full(shape, 1.0 if j == 0 else 2.0, dtype=torch.bfloat16)] * LAYERS
        cache = cache.append_chunk(kv, kv, torch.arange(cache.next_frame, cache.next_frame + C))
    expected = 2 - 0.999**30  # 1.0296; rounding every step in bf16 would leave 1.0
    sink = sink_keys(cache, 0).float()
    torch.testing.assert_close(sink, torch.full_like(sink, expected), atol=4e-3, rtol=0)
    exact = sink_keys(cache, 0).float() + cache.ema_residual_values[0][0].float()  # stored + residual
    torch.testing.assert_close(exact, torch.full_like(exact, expected), atol=3e-4, rtol=0)
    assert cache.ema_residual_keys[0].dtype == torch.bfloat16
    assert cache.ema_residual_keys[0].shape == (1, C * L, HEADS, HEAD_DIM)
    assert filled().ema_residual_keys is None  # float32 caches need no residual


def test_append_replaces_the_emad_segment_and_frees_its_residual():
    cache = KVCache.empty(2, LAYERS, HEADS, HEAD_DIM, L, stream(), dtype=torch.bfloat16)
    for j in range(2):
        k, v = chunk_kv(2, j)
        cache = cache.append_chunk([t.bfloat16() for t in k], [t.bfloat16() for t in v],
                                   torch.arange(cache.next_frame, cache.next_frame + C))
    emad = cache.route([Route.EMA, Route.DISCARD], LIMITS)
    assert emad.ema_touched == (True, False) and emad.ema_residual_keys is not None
    assert not emad.ema_residual_keys[0][1].any()  # the untouched row has a zero residual
    forked = emad.select(torch.tensor([0, 0]))
    assert torch.equal(forked.ema_residual_values[1][1], emad.ema_residual_values[1][0])
    k, v = chunk_kv(2, 5)
    grown = forked.append_chunk([t.bfloat16() for t in k], [t.bfloat16() for t in v], torch.arange(6, 9))
    assert grown.route([Route.APPEND, Route.APPEND], LIMITS).ema_residual_keys is None  # both segments fresh
    kept = grown.route([Route.APPEND, Route.DISCARD], LIMITS)
    assert kept.ema_touched == (False, True) and kept.ema_residual_keys is not None


def test_consuming_commit_equals_commit_and_forbids_reuse():
    cache = filled(b=3, chunks=2)
    cache = commit(cache, 2, [Route.APPEND, Route.DISCARD, Route.EMA])
    index = torch.tensor([2, 0, 0])
    routes = [Route.EMA, Route.APPEND, Route.DISCARD]
    k, v = chunk_kv(3, 8)
    positions = torch.arange(cache.next_frame, cache.next_frame + C)
    functional = cache.commit(index, routes, k, v, positions, limits=LIMITS)
    consumed = cache.select(torch.arange(3))  # an explicit fork to consume
    in_place = consumed.commit_(index, routes, k, v, positions, limits=LIMITS)
    assert in_place.sink_frames() == functional.sink_frames() == [3, 9, 6]
    assert torch.equal(in_place.positions, functional.positions)
    for layer in range(LAYERS):
        assert torch.equal(in_place.keys[layer], functional.keys[layer])
        assert torch.equal(in_place.values[layer], functional.values[layer])
    assert consumed.consumed and not cache.consumed and not in_place.consumed
    with pytest.raises(RuntimeError, match="consumed by commit_"):
        consumed.layer(0)
    with pytest.raises(RuntimeError, match="consumed by commit_"):
        consumed.commit_(index, routes, k, v, positions, limits=LIMITS)


def test_ema_of_rotated_keys_equals_rotating_the_blend_of_raw_keys():
    """Keys are stored rotated by their frames; EMA must act as if it blended un-rotated keys."""
    cfg = WanConfig.preset("tiny-test")
    L_, heads, dim = 4, cfg.num_heads, cfg.head_dim
    g = torch.Generator().manual_seed(4)
    raw = [torch.randn(1, C * L_, heads, dim, generator=g, dtype=torch.float64) for _ in range(3)]

    def rotated(x: torch.Tensor, first: int) -> torch.Tensor:
        return rope_for_frames(cfg, torch.arange(first, first + C)[None], (2, 2), torch.float64).apply(x)

    cache = KVCache.empty(1, 1, heads, dim, L_, stream(), dtype=torch.float64, frame_angles=rope_frame_angles(cfg))
    for j in range(2):
        key = rotated(raw[j], 3 * j)
        cache = cache.append_chunk([key], [raw[j]], torch.arange(3 * j, 3 * j + C))
    after = cache.route([Route.EMA], LIMITS)
    expected = rotated(0.75 * raw[0] + 0.25 * raw[1], 0)  # the blend attends at the sink's frames 0-2
    torch.testing.assert_close(after.keys[0][:, : C * L_], expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(after.values[0][:, : C * L_], 0.75 * raw[0] + 0.25 * raw[1])  # values: no RoPE


def test_misuse_raises():
    cache = filled(chunks=2)
    k, v = chunk_kv(2, 0)
    with pytest.raises(ValueError, match="route"):
        cache.append_chunk(k, v, torch.arange(6, 9))
    with pytest.raises(ValueError, match="one route per history"):
        cache.route([Route.EMA], LIMITS)
    with pytest.raises(ValueError, match="nothing leaves"):
        filled(chunks=1).route([Route.EMA, Route.EMA], LIMITS)
    with pytest.raises(ValueError, match="out of range"):
        cache.select(torch.tensor([2]))


# ----- with the network: routing and forking change attention exactly as intended ----------------


def tiny_model() -> CausalWan:
    model = CausalWan(WanConfig.preset("tiny-test"))
    g = torch.Generator().manual_seed(0)
    model.init_weights(g)
    torch.nn.init.normal_(model.head.head.weight, std=0.2, generator=g)
    return model.double().eval()


def prompt(model: CausalWan):
    cfg = model.config
    states = torch.randn(1, cfg.text_len, cfg.text_dim, generator=torch.Generator().manual_seed(1))
    return model.encode_text(states.double())


def model_cache(model: CausalWan, histories: int) -> KVCache:
    cfg = model.config
    sizes = (cfg.num_layers, cfg.num_heads, cfg.head_dim)
    return KVCache.empty(histories, *sizes, 4, stream(), dtype=torch.float64, frame_angles=rope_frame_angles(cfg))


def model_commit(model, text, cache, x, routes):
    out = model.forward_chunk(x, torch.zeros(cache.num_histories, C), text, cache, return_kv=True)
    if cache.evicts_on_append:
        cache = cache.route(routes, LIMITS)
    return cache.append_chunk(out.keys, out.values, torch.arange(cache.next_frame, cache.next_frame + C))


@torch.no_grad()
def test_padded_sinks_attend_like_each_history_alone():
    """Two histories routed differently (sinks 6 and 3 frames) in one batch, vs the full masked forward."""
    model = tiny_model()
    cfg = model.config
    text = prompt(model)
    video = torch.randn(1, cfg.in_dim, 4 * C, 4, 4, generator=torch.Generator().manual_seed(2)).double()
    both = video.expand(2, -1, -1, -1, -1)
    cache = model_cache(model, 2)
    for j in range(3):  # commit 2 evicts chunk 1: row 0 appends it to the sink, row 1 drops it
        chunk = both[:, :, j * C : (j + 1) * C]
        cache = model_commit(model, text, cache, chunk, [Route.APPEND, Route.DISCARD])
    assert cache.sink_frames() == [6, 3] and cache.has_padding
    t = torch.full((2, C), 833.3)
    last = model.forward_chunk(both[:, :, 3 * C :], t, text, cache).flow
    frames = torch.arange(4 * C)
    times = torch.cat([torch.zeros(1, 3 * C), torch.full((1, C), 833.3)], 1).double()
    # APPEND kept chunk 1 at frames 3-5: full causal attention. DISCARD: sink + window only.
    kept = model(video, times, text, frames, block_causal_mask(4 * C, C))[:, :, 3 * C :]
    dropped = model(video, times, text, frames, block_causal_mask(4 * C, C, 3, 6))[:, :, 3 * C :]
    torch.testing.assert_close(last[0:1], kept, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(last[1:2], dropped, rtol=1e-10, atol=1e-10)


@torch.no_grad()
def test_select_then_continue_equals_recomputing_from_scratch():
    model = tiny_model()
    cfg = model.config
    text = prompt(model)
    g = torch.Generator().manual_seed(3)
    videos = torch.randn(2, cfg.in_dim, 3 * C, 4, 4, generator=g).double()  # two different histories
    nxt = torch.randn(3, cfg.in_dim, C, 4, 4, generator=g).double()

    def run(batch: torch.Tensor, chunks: int) -> KVCache:
        cache = model_cache(model, batch.shape[0])
        for j in range(chunks):
            chunk = batch[:, :, j * C : (j + 1) * C]
            cache = model_commit(model, text, cache, chunk, [Route.EMA] * batch.shape[0])
        return cache

    index = torch.tensor([1, 1, 0])
    forked = run(videos, 3).select(index)
    scratch = run(videos[index], 3)
    t = torch.full((3, C), 625.0)
    a = model.forward_chunk(nxt, t, text, forked).flow
    b = model.forward_chunk(nxt, t, text, scratch).flow
    via_parents = model.forward_chunk(nxt, t, text, run(videos, 3), parents=index).flow
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(via_parents, b, rtol=1e-10, atol=1e-10)


def test_commits_leave_free_slots_for_the_next_chunk_and_copies_are_refused():
    cache = filled(chunks=3)
    assert cache.free_frames == C
    keys, values = cache.layer_with_room(1)
    assert keys.shape == (2, (6 + C) * L, HEADS, HEAD_DIM) and values.shape == keys.shape
    assert torch.equal(keys[:, : 6 * L], cache.keys[1])  # the cache, then the free slots, one allocation
    keys[:, 6 * L :] = 7.0
    assert cache.keys[1].abs().max() < 7.0  # writing the free slots leaves the cache as it was
    assert KVCache.empty(2, LAYERS, HEADS, HEAD_DIM, L, stream()).free_frames == 0
    copied = dataclasses.replace(cache, keys=[k.clone() for k in cache.keys])
    with pytest.raises(ValueError, match="free slots were not kept"):
        copied.layer_with_room(0)
    with pytest.raises(ValueError, match="free_frames=0"):
        dataclasses.replace(cache, free_frames=0).layer_with_room(0)
