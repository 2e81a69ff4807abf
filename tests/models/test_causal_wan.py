import dataclasses

import pytest
import torch

from streamt1.config import ConfigError
from streamt1.interfaces import Route, SinkLimits
from streamt1.models.causal_wan import (
    CausalWan,
    TextKV,
    _attend,
    attend_split_keys,
    block_causal_mask,
    frame_block_mask,
    frame_mask_to_tokens,
    host_to_device,
    key_splits,
    rope_frame_angles,
    sinusoidal_embedding,
    splits_keys,
    teacher_forcing_mask,
)
from streamt1.models.config import StreamConfig, WanConfig
from streamt1.models.kv_cache import KVCache

CHUNK = 3
LATENT_HW = (4, 4)  # 2x2 tokens per frame with the (1, 2, 2) patch


def tiny_model(dtype: torch.dtype = torch.float64, **config: object) -> CausalWan:
    """The tiny-test Wan (``config`` replaces fields, e.g. the optional conditioning paths)."""
    model = CausalWan(dataclasses.replace(WanConfig.preset("tiny-test"), **config))
    g = torch.Generator().manual_seed(0)
    model.init_weights(g)
    # Wan zero-initialises the output layer (and the pooled-text path's last layer); give them weights
    # so predictions carry information.
    torch.nn.init.normal_(model.head.head.weight, std=0.2, generator=g)
    if model.pooled_text_embedding is not None:
        torch.nn.init.normal_(model.pooled_text_embedding[2].weight, std=0.2, generator=g)
    if model.refiner is not None:
        torch.nn.init.normal_(model.refiner.net[-1].weight, std=0.2, generator=g)
    if model.progress_embedding is not None:
        torch.nn.init.normal_(model.progress_embedding[2].weight, std=0.2, generator=g)
    return model.to(dtype).eval()


def text_kv(model: CausalWan, batch: int = 1):
    g = torch.Generator().manual_seed(1)
    cfg = model.config
    # a 20-frame video (read by a model with progress_embedding, ignored by the others)
    return model.encode_text(torch.randn(batch, cfg.text_len, cfg.text_dim, generator=g, dtype=model.dtype), 20)


def latents(num_frames: int, seed: int, batch: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 12, num_frames, *LATENT_HW, generator=g, dtype=torch.float64)


def empty_cache(model: CausalWan, stream: StreamConfig, histories: int = 1) -> KVCache:
    cfg = model.config
    return KVCache.empty(histories, cfg.num_layers, cfg.num_heads, cfg.head_dim, 4, stream, dtype=model.dtype,
                         frame_angles=rope_frame_angles(cfg))


def stream_chunks(model, text, stream, clean, noisy, t):
    """Run the cached stream (all routes DISCARD); return per-chunk noisy-step and commit predictions."""
    cache = empty_cache(model, stream, clean.shape[0])
    noisy_flows, clean_flows = [], []
    n = clean.shape[0]
    for j in range(clean.shape[2] // CHUNK):
        part = slice(j * CHUNK, (j + 1) * CHUNK)
        t_noisy = torch.full((n, CHUNK), t)
        noisy_flows.append(model.forward_chunk(noisy[:, :, part], t_noisy, text, cache).flow)
        out = model.forward_chunk(clean[:, :, part], torch.zeros(n, CHUNK), text, cache, return_kv=True)
        clean_flows.append(out.flow)
        if cache.evicts_on_append:
            cache = cache.route([Route.DISCARD] * n)
        positions = torch.arange(cache.next_frame, cache.next_frame + CHUNK)
        cache = cache.append_chunk(out.keys, out.values, positions)
    return torch.cat(noisy_flows, 2), torch.cat(clean_flows, 2)


def teacher_forced(model, text, clean, noisy, t, sink=0, window=None):
    """One full forward over [clean | noisy] with the teacher-forcing mask and repeated positions."""
    f = clean.shape[2]
    timesteps = torch.cat([torch.zeros(1, f), torch.full((1, f), t)], 1).double()
    positions = torch.cat([torch.arange(f), torch.arange(f)])
    mask = teacher_forcing_mask(f, CHUNK, sink, window)
    out = model(torch.cat([clean, noisy], 2), timesteps, text, positions, mask)
    return out[:, :, f:], out[:, :, :f]


def test_state_dict_matches_wan_1_3b_naming_and_shapes():
    with torch.device("meta"):
        model = CausalWan(WanConfig.preset("wan2.1-t2v-1.3b"))
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert len(shapes) == 15 + 30 * 27
    assert shapes["patch_embedding.weight"] == (1536, 16, 1, 2, 2)
    assert shapes["text_embedding.0.weight"] == (1536, 4096)
    assert shapes["text_embedding.2.weight"] == (1536, 1536)
    assert shapes["time_embedding.0.weight"] == (1536, 256)
    assert shapes["time_projection.1.weight"] == (6 * 1536, 1536)
    assert shapes["head.head.weight"] == (64, 1536)
    assert shapes["head.modulation"] == (1, 2, 1536)
    assert shapes["blocks.29.modulation"] == (1, 6, 1536)
    assert shapes["blocks.0.self_attn.norm_q.weight"] == (1536,)
    assert shapes["blocks.0.norm3.bias"] == (1536,)
    assert shapes["blocks.0.cross_attn.norm_k.weight"] == (1536,)
    assert shapes["blocks.0.ffn.0.weight"] == (8960, 1536)
    assert not any("norm1" in k or "norm2" in k or k.startswith("head.norm") for k in shapes)
    assert WanConfig.preset("wan2.1-t2v-1.3b").rope_pairs == (22, 21, 21)


def test_sinusoid_is_cosine_first():
    emb = sinusoidal_embedding(8, torch.tensor([0.0, 2.0]))
    assert torch.equal(emb[0], torch.tensor([1.0] * 4 + [0.0] * 4, dtype=torch.float64))
    assert torch.isclose(emb[1, 0], torch.cos(torch.tensor(2.0, dtype=torch.float64)))


def test_block_causal_mask_with_sink_and_window():
    full = block_causal_mask(9, 3)
    assert full[3, 5] and not full[2, 3] and full[8, 0]
    win = block_causal_mask(12, 3, sink_frames=3, window_frames=6)
    # chunk 3 (frames 9-11) sees the sink 0-2 and frames 6-11, not chunk 1 (frames 3-5)
    assert win[9].tolist() == [True] * 3 + [False] * 3 + [True] * 6
    tf = teacher_forcing_mask(6, 3)
    assert tf[6].tolist() == [False] * 6 + [True] * 3 + [False] * 3  # noisy chunk 0: only itself
    assert tf[9].tolist() == [True] * 3 + [False] * 3 + [False] * 3 + [True] * 3
    assert frame_mask_to_tokens(full, 2).shape == (18, 18)


@torch.no_grad()  # FlexAttention has no backward on the CPU
def test_a_block_mask_attends_as_its_frame_mask():
    """FlexAttention's block mask (training's sparse path) gives the dense frame mask's forward, and
    refuses frames it was not built for."""
    model, text = tiny_model(torch.float32), text_kv(tiny_model(torch.float32))
    f, tokens_per_frame = 2 * CHUNK, 4
    x = torch.cat([latents(f, 2), latents(f, 3)], 2).float()
    timesteps = torch.cat([torch.zeros(1, f), torch.full((1, f), 700.0)], 1)
    positions = torch.cat([torch.arange(f), torch.arange(f)])
    mask = teacher_forcing_mask(f, CHUNK, 0, None)
    dense = model(x, timesteps, text, positions, mask)
    sparse = model(x, timesteps, text, positions, frame_block_mask(mask, tokens_per_frame))
    torch.testing.assert_close(sparse, dense, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(dense, model(x, timesteps, text, positions, None), atol=1e-3)  # the mask matters
    with pytest.raises(ValueError, match="block mask covers"):
        model(x[:, :, :f], timesteps[:, :f], text, positions[:f], frame_block_mask(mask, tokens_per_frame))


REFINER = {"refiner_channels": 4, "refiner_shuffle": 2}  # tiny-test's 12 channels at 4x4 -> 3 at 8x8


@pytest.mark.parametrize("config", [{}, {"spatial_embedding": (2, 2), "pooled_text": True}, REFINER,
                                    {"progress_embedding": True}],
                         ids=["wan", "position-table-and-pooled-text", "refiner", "progress"])
def test_streaming_equals_one_block_causal_forward(config):
    model, stream = tiny_model(**config), StreamConfig(window_frames=12)  # window covers the whole video
    text = text_kv(model)
    clean, noisy = latents(4 * CHUNK, 2), latents(4 * CHUNK, 3)
    with torch.no_grad():
        stream_noisy, stream_clean = stream_chunks(model, text, stream, clean, noisy, 937.5)
        full_noisy, full_clean = teacher_forced(model, text, clean, noisy, 937.5)
        t0 = torch.zeros(1, 12).double()
        causal_clean = model(clean, t0, text, torch.arange(12), block_causal_mask(12, CHUNK))
    torch.testing.assert_close(stream_noisy, full_noisy, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(stream_clean, full_clean, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(stream_clean, causal_clean, rtol=1e-10, atol=1e-10)
    assert stream_noisy.abs().mean() > 0.1  # the comparison is not between zeros


def test_streaming_with_small_window_equals_sink_plus_window_mask():
    model, stream = tiny_model(), StreamConfig(window_frames=6)
    text = text_kv(model)
    clean, noisy = latents(5 * CHUNK, 4), latents(5 * CHUNK, 5)
    with torch.no_grad():
        stream_noisy, stream_clean = stream_chunks(model, text, stream, clean, noisy, 625.0)
        win_noisy, win_clean = teacher_forced(model, text, clean, noisy, 625.0, sink=3, window=6)
        full_noisy, _ = teacher_forced(model, text, clean, noisy, 625.0)
    torch.testing.assert_close(stream_noisy, win_noisy, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(stream_clean, win_clean, rtol=1e-10, atol=1e-10)
    # the window really cut something: the last chunk differs from full causal attention
    assert (stream_noisy[:, :, -CHUNK:] - full_noisy[:, :, -CHUNK:]).abs().max() > 1e-3


def test_float32_streaming_matches_full_forward():
    model, stream = tiny_model(torch.float32), StreamConfig(window_frames=6)
    text = text_kv(model)
    clean, noisy = latents(3 * CHUNK, 6).float(), latents(3 * CHUNK, 7).float()
    with torch.no_grad():
        stream_noisy, _ = stream_chunks(model, text, stream, clean, noisy, 833.3)
        win_noisy, _ = teacher_forced(model, text, clean, noisy, 833.3, sink=3, window=6)
    torch.testing.assert_close(stream_noisy, win_noisy, rtol=1e-4, atol=1e-5)


def test_rope_depends_only_on_relative_frame_positions():
    model = tiny_model()
    text = text_kv(model)
    x = latents(6, 8)
    t = torch.full((1, 6), 500.0, dtype=torch.float64)
    mask = block_causal_mask(6, CHUNK)
    with torch.no_grad():
        base = model(x, t, text, torch.arange(6), mask)
        shifted = model(x, t, text, torch.arange(6) + 7, mask)
        stretched = model(x, t, text, torch.arange(6) * 2, mask)
    torch.testing.assert_close(base, shifted, rtol=1e-9, atol=1e-9)
    assert (base - stretched).abs().max() > 1e-4


def test_shared_prompt_kv_equals_per_candidate_copies():
    model, stream = tiny_model(), StreamConfig()
    shared = text_kv(model)
    copies = TextKV(tuple(k.expand(3, -1, -1, -1) for k in shared.keys),
                    tuple(v.expand(3, -1, -1, -1) for v in shared.values))
    x = latents(CHUNK, 9, batch=3)
    t = torch.full((3, CHUNK), 1000.0)
    cache = empty_cache(model, stream, 3)
    with torch.no_grad():
        a = model.forward_chunk(x, t, shared, cache).flow
        b = model.forward_chunk(x, t, copies, cache).flow
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_a_new_refiner_starts_as_a_no_op_and_corrects_locally_at_its_scale():
    plain = CausalWan(WanConfig.preset("tiny-test"))
    refined = CausalWan(dataclasses.replace(WanConfig.preset("tiny-test"), **REFINER))
    for model in (plain, refined):
        model.init_weights(torch.Generator().manual_seed(0))
        torch.nn.init.normal_(model.head.head.weight, std=0.2, generator=torch.Generator().manual_seed(1))
    x, t = latents(3, 0).float(), torch.full((1, 3), 500.0)
    with torch.no_grad():
        same = [m(x, t, text_kv(m), torch.arange(3), None) for m in (plain, refined)]
    torch.testing.assert_close(same[0], same[1], rtol=0, atol=0)  # the last convolution starts at zero
    assert same[0].abs().mean() > 0.1
    # Three 3x3 convolutions at 2x the latent resolution: a change at one fine pixel moves the
    # correction within 3 fine pixels of it, and the latent channels map to the pixels they hold.
    refiner = tiny_model(torch.float64, **REFINER).refiner
    out, x_t, t = latents(1, 1), latents(1, 2), torch.full((1, 1), 500.0)
    moved = out.clone()
    moved[0, 0, 0, 1, 1] += 1.0  # channel 0 of a latent cell: fine pixel (2, 2) of colour 0
    with torch.no_grad():
        change = (refiner(moved, x_t, t) - refiner(out, x_t, t) - (moved - out))
    fine = torch.nn.functional.pixel_shuffle(change[:, :, 0], 2)[0].abs().sum(0)  # [8, 8]
    rows, cols = fine.nonzero().unbind(1)
    assert len(rows) > 0 and int((rows - 2).abs().max()) <= 3 and int((cols - 2).abs().max()) <= 3


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="num_heads"):
        WanConfig(**{**WanConfig.preset("tiny-test").__dict__, "num_heads": 5})
    with pytest.raises(ValueError, match="refiner_shuffle"):
        WanConfig(**{**WanConfig.preset("tiny-test").__dict__, "refiner_channels": 4, "refiner_shuffle": 3})
    with pytest.raises(ValueError, match="unknown WanConfig preset"):
        WanConfig.preset("nope")
    model = tiny_model()
    with pytest.raises(ValueError, match="timesteps"):
        model(latents(3, 0), torch.zeros(1, 2), text_kv(model), torch.arange(3), None)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bf16_cuda_chunk_forward_close_to_float32():
    model, stream = tiny_model(torch.float32).cuda(), StreamConfig()
    states = torch.randn(1, 6, 12, generator=torch.Generator().manual_seed(1)).cuda()
    x = latents(CHUNK, 10).float().cuda()
    t = torch.full((1, CHUNK), 937.5, device="cuda")
    with torch.no_grad():
        ref = model.forward_chunk(x, t, model.encode_text(states), empty_cache(model, stream)).flow
        model = model.to(torch.bfloat16)
        out = model.forward_chunk(x, t, model.encode_text(states), empty_cache(model, stream)).flow
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref, rtol=0.05, atol=0.05)


def test_x0_prediction_is_returned_as_the_flow_it_implies():
    """Same weights: the x0 model's flow is (x_t - head output) / sigma, the flow model's is the head output."""
    flow_model = tiny_model()
    x0_model = CausalWan(dataclasses.replace(flow_model.config, prediction="x0")).to(torch.float64).eval()
    x0_model.load_state_dict(flow_model.state_dict())
    text, x = text_kv(flow_model), latents(2, seed=3)
    t = torch.tensor([[800.0, 800.0]], dtype=torch.float64)
    positions = torch.arange(2)
    with torch.no_grad():
        head = flow_model(x, t, text, positions, None)
        flow = x0_model(x, t, text, positions, None)
    torch.testing.assert_close(x - 0.8 * flow, head.float().double(), rtol=1e-5, atol=1e-5)
    with pytest.raises(ConfigError, match="prediction"):
        dataclasses.replace(flow_model.config, prediction="eps")


def _cache_of_two_histories(model: CausalWan, stream: StreamConfig) -> KVCache:
    """Two histories, window full, sinks of 9 and 3 frames (so attention needs the padding mask)."""
    cache = empty_cache(model, stream, histories=2)
    for j in range(4):
        clean = latents(CHUNK, 20 + j, batch=2)
        out = model.forward_chunk(clean, torch.zeros(2, CHUNK), text_kv(model), cache, return_kv=True)
        if cache.evicts_on_append:
            cache = cache.route([Route.APPEND, Route.DISCARD], SinkLimits(max_sink_frames=9, ema_decay=0.9))
        cache = cache.append_chunk(out.keys, out.values, torch.arange(cache.next_frame, cache.next_frame + CHUNK))
    return cache


@pytest.mark.parametrize("parents", [[0, 0, 1, 1], [1, 0], [1, 1, 0], [0, 1]])
def test_chunk_written_into_free_slots_equals_joining_a_copy_of_the_past(parents, monkeypatch):
    # The tiny past is below the size where passes pay off; the test is about the pass path.
    monkeypatch.setattr("streamt1.models.causal_wan.JOIN_BELOW_TOKENS", 0)
    model, stream = tiny_model(), StreamConfig(window_frames=6)
    text = text_kv(model)
    with torch.no_grad():
        cache = _cache_of_two_histories(model, stream)
        assert cache.free_frames == CHUNK and cache.has_padding and cache.sink_lengths == (9, 3)
        # The same cache without free slots: every candidate joins a copy of its parent's past.
        joined = dataclasses.replace(cache, keys=[k.clone() for k in cache.keys],
                                     values=[v.clone() for v in cache.values], free_frames=0)
        before = [k.clone() for k in cache.keys]
        x = latents(CHUNK, 7, batch=len(parents))
        t = torch.full((len(parents), CHUNK), 500.0)
        index = torch.tensor(parents)
        fast = model.forward_chunk(x, t, text, cache, index, return_kv=True)
        slow = model.forward_chunk(x, t, text, joined, index, return_kv=True)
    torch.testing.assert_close(fast.flow, slow.flow, rtol=1e-12, atol=1e-12)
    for a, b in zip(fast.keys + fast.values, slow.keys + slow.values):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert all(torch.equal(k, b) for k, b in zip(cache.keys, before))  # only the free slots were written
    # Candidates differ (their own noise and, for shared parents, their own chunk in the free slots).
    assert (fast.flow[0] - fast.flow[1]).abs().max() > 1e-3


@pytest.mark.parametrize("parents", [[0, 0, 1, 1], [1, 0], [1]])
def test_candidates_reading_their_pasts_copied_once_equal_joining_copies_at_every_step(parents, monkeypatch):
    # Float32 as the Sprites model runs: the same attention buffers must give the same bits.
    model, stream = tiny_model(torch.float32), StreamConfig(window_frames=6)
    text = text_kv(model)
    index = torch.tensor(parents)
    with torch.no_grad():
        cache = _cache_of_two_histories(model, stream)
        joined = dataclasses.replace(cache, free_frames=0)  # no room: every forward joins copies
        own, rows = model.cache_for_candidates(joined, index)
        assert rows is None and own.num_histories == len(parents) and own.free_frames == CHUNK
        assert own.sink_lengths == tuple(cache.sink_lengths[p] for p in parents)
        assert torch.equal(own.valid, cache.valid[index])  # the padding layout is kept
        for step, t in enumerate((900.0, 400.0)):  # two steps: the free slots are rewritten
            x = latents(CHUNK, 30 + step, batch=len(parents))
            timesteps = torch.full((len(parents), CHUNK), t)
            a = model.forward_chunk(x, timesteps, text, joined, index, return_kv=True)
            b = model.forward_chunk(x, timesteps, text, own, rows, return_kv=True)
            assert torch.equal(a.flow, b.flow)
            assert all(torch.equal(p, q) for p, q in zip(a.keys + a.values, b.keys + b.values))
        # A cache with room for these candidates is used as it is.
        same, same_rows = model.cache_for_candidates(cache, torch.arange(2))
        assert same is cache and torch.equal(same_rows, torch.arange(2))
        # A long past is joined layer by layer as before: copied whole for every candidate it would hold
        # every layer at once.
        monkeypatch.setattr("streamt1.models.causal_wan.JOIN_BELOW_TOKENS", 1)
        kept, kept_rows = model.cache_for_candidates(joined, index)
        assert kept is joined and kept_rows is index


def test_chunk_kv_equals_the_kv_of_the_full_forward():
    model, stream = tiny_model(torch.float32), StreamConfig(window_frames=6)
    text = text_kv(model)
    with torch.no_grad():
        cache = _cache_of_two_histories(model, stream)
        x, index = latents(CHUNK, 40, batch=3), torch.tensor([1, 0, 1])
        full = model.forward_chunk(x, torch.zeros(3, CHUNK), text, cache, index, return_kv=True)
        kv_only = model.chunk_kv(x, torch.zeros(3, CHUNK), text, cache, index)
    assert kv_only.flow is None and len(kv_only.keys) == len(model.blocks)
    assert all(torch.equal(p, q) for p, q in zip(full.keys + full.values, kv_only.keys + kv_only.values))


def test_passes_read_consecutive_rows_one_candidate_each():
    from streamt1.models.causal_wan import _passes

    assert _passes([0, 1, 2]) == [[0, 1, 2]]
    assert _passes([0, 0, 1, 1]) == [[0, 2], [1, 3]]
    assert _passes([1, 0]) == [[1, 0]]
    assert _passes([0, 2]) == [[0], [1]]
    assert _passes([1, 1, 1]) == [[0], [1], [2]]
    for rows in ([0, 0, 1, 1], [2, 0, 2, 1], [3, 1]):
        groups = _passes(rows)
        assert sorted(j for g in groups for j in g) == list(range(len(rows)))
        for g in groups:
            assert [rows[j] for j in g] == list(range(rows[g[0]], rows[g[0]] + len(g)))


def test_rope_tables_rotate_like_wans_complex_multiply():
    from streamt1.models.causal_wan import rope_for_frames

    cfg = WanConfig.preset("tiny-test")
    positions = torch.tensor([[0, 5, 11]])
    x = torch.randn(1, 3 * 4, cfg.num_heads, cfg.head_dim, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    rotated = rope_for_frames(cfg, positions, (2, 2), torch.float64).apply(x)
    # Reference: complex multiply by exp(i * angle), angles per (time, row, col) pair as in Wan.
    pt, ph, pw = cfg.rope_pairs
    inv = lambda n: cfg.rope_theta ** (-torch.arange(n, dtype=torch.float64) / n)
    angles = torch.stack([
        torch.cat([f * inv(pt), r * inv(ph), c * inv(pw)])
        for f in positions[0].tolist() for r in range(2) for c in range(2)
    ])[None, :, None]  # [1, S, 1, P]
    expected = torch.view_as_real(torch.view_as_complex(x.unflatten(-1, (-1, 2))) * torch.polar(
        torch.ones_like(angles), angles)).flatten(-2)
    torch.testing.assert_close(rotated, expected, rtol=1e-12, atol=1e-12)


def test_host_to_device_is_the_tensor_itself_off_cuda():
    x = torch.arange(6)
    assert host_to_device(x, torch.device("cpu")) is x


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_host_to_device_copies_what_the_host_tensor_held_when_called():
    x = torch.arange(1 << 20, dtype=torch.float32)
    y = host_to_device(x, torch.device("cuda"))
    x.zero_()  # the copy is asynchronous: it must have read a pinned snapshot, not x
    assert torch.equal(y.cpu(), torch.arange(1 << 20, dtype=torch.float32))


@pytest.mark.parametrize("batch,splits", [(1, 2), (2, 2), (1, 3), (2, 4)])
def test_split_key_attention_equals_one_softmax_over_all_keys(batch, splits):
    g = torch.Generator().manual_seed(batch * 10 + splits)
    q = torch.randn(batch, 10, 3, 8, generator=g, dtype=torch.float64)
    k, v = (torch.randn(batch, 24, 3, 8, generator=g, dtype=torch.float64) for _ in range(2))
    ref = torch.nn.functional.scaled_dot_product_attention(*(t.transpose(1, 2) for t in (q, k, v))).transpose(1, 2)
    out = attend_split_keys(q, k, v, splits)
    assert out.shape == ref.shape == (batch, 10, 3, 8)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="equal parts"):
        attend_split_keys(q, k, v, 5)


def test_key_splits_fill_the_last_wave_only_where_it_runs_mostly_empty():
    keys = 12 * 1560  # a Wan chunk's full window (sink 3 + window 9 frames, the chunk's own included) at 832x480
    assert key_splits(12 * 37, 132, keys) == 2  # batch 1: 3.4 waves -> 6.7 of 7 half-waves
    assert key_splits(2 * 12 * 37, 132, keys) == 1  # batch 2: 6.7 of 7 waves already
    assert key_splits(132, 132, keys) == 1  # exactly one full wave
    assert key_splits(12 * 37, 132, 9 * 1560) == 1  # parts too short to pay for the merge
    assert key_splits(12 * 37, 132, 6 * 8192 + 1) == 1  # no equal parts (odd, not a multiple of 3 or 4)
    assert key_splits(10, 132, 4 * 8192) == 4  # a small attention: as many parts as allowed
    assert key_splits(10, 132, keys) == 2  # ... of at least MIN_KEYS_PER_SPLIT keys


@pytest.mark.parametrize("room", [True, False])
def test_chunk_forward_with_split_keys_equals_one_softmax(monkeypatch, room):
    """The model path: a chunk forward (history in the cache, K/V returned as a commit needs them) whose
    self-attention reads its keys in two parts gives the same flow and K/V as reading them whole, with
    the chunk written into the cache's free slots (room) or joined to a copy of the past."""
    model, stream = tiny_model(), StreamConfig()
    text = text_kv(model)
    with torch.no_grad():
        cache = empty_cache(model, stream)
        for j in range(2):
            out = model.forward_chunk(latents(CHUNK, 30 + j), torch.zeros(1, CHUNK), text, cache, return_kv=True)
            cache = cache.append_chunk(out.keys, out.values, torch.arange(cache.next_frame, cache.next_frame + CHUNK))
        if not room:
            cache = dataclasses.replace(cache, free_frames=0)
        x, t = latents(CHUNK, 9), torch.full((1, CHUNK), 700.0, dtype=torch.float64)
        whole = model.forward_chunk(x, t, text, cache, return_kv=True)
        asked = []
        monkeypatch.setattr(CausalWan, "_key_splits", lambda self, batch, queries, keys: asked.append(
            (batch, queries, keys)) or 2)
        parts = model.forward_chunk(x, t, text, cache, return_kv=True)
    tokens = cache.tokens_per_frame
    assert asked == [(1, CHUNK * tokens, (2 + 1) * CHUNK * tokens)]  # the past's 2 chunks and its own
    torch.testing.assert_close(parts.flow, whole.flow, rtol=1e-10, atol=1e-10)
    for a, b in zip(parts.keys + parts.values, whole.keys + whole.values):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_keys_are_split_only_with_attention_auto_on_a_gpu_in_half_precision():
    cuda = torch.device("cuda")
    assert not splits_keys("auto", torch.device("cpu"), torch.bfloat16)
    assert not splits_keys("auto", cuda, torch.float32)  # cuDNN's attention takes no float32
    for choice in ("cudnn", "default", "flash"):  # an explicit choice attends whole
        assert not splits_keys(choice, cuda, torch.bfloat16)
    model = tiny_model().to(torch.float32)
    assert model._key_splits(1, 12 * 128, 1 << 20) == 1  # the host's attention is never split
    with pytest.raises(ValueError, match="no mask"):
        _attend(*(torch.zeros(1, 4, 2, 8) for _ in range(3)), torch.ones(1, 1, 1, 4, dtype=torch.bool), 2)


@pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.get_device_capability() != (9, 0),
                    reason="needs a Hopper GPU")
def test_keys_are_split_on_hopper_in_bf16_by_the_wave_rule():
    model = tiny_model().to("cuda", torch.bfloat16)
    assert model._key_splits(2, 4680, 18720) == 1  # a model's own attention is PyTorch's order: whole keys
    model.set_attention("auto")  # run.attention's default
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    heads = model.config.num_heads
    for batch in (1, 2):
        assert model._key_splits(batch, 4680, 18720) == key_splits(batch * heads * 37, sms, 18720)
    assert model._key_splits(12 // heads, 4680, 18720) == key_splits(12 * 37, sms, 18720)  # Wan at batch 1
    assert model.to(torch.float32)._key_splits(12 // heads, 4680, 18720) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_split_key_attention_on_the_gpu_agrees_with_sdpa_at_wans_size():
    """cuDNN's kernel with its log-sum-exps (the path attention auto takes at batch 1 on Hopper)."""
    g = torch.Generator(device="cuda").manual_seed(0)
    # Queries scaled so that each attends a few keys sharply: outputs of order 1, not averages near 0.
    q = 4 * torch.randn(1, 4680, 12, 128, generator=g, device="cuda", dtype=torch.bfloat16)
    k, v = (torch.randn(1, 18720, 12, 128, generator=g, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    ref = torch.nn.functional.scaled_dot_product_attention(
        *(t.transpose(1, 2).float() for t in (q, k, v))).transpose(1, 2)
    assert ref.abs().mean() > 0.2
    whole = torch.nn.functional.scaled_dot_product_attention(*(t.transpose(1, 2) for t in (q, k, v))).transpose(1, 2)
    bf16_error = (whole.float() - ref).abs().max().item()
    for splits in (2, 3, 4):
        out = attend_split_keys(q, k, v, splits)
        assert out.shape == q.shape and out.dtype == torch.bfloat16
        # two bf16 parts, a bf16 weight, the merged output rounded again: about three roundings
        assert (out.float() - ref).abs().max().item() <= 3 * bf16_error
