"""The Sprites model's optional conditioning paths of CausalWan: a learned absolute position table
(``WanConfig.spatial_embedding``), the pooled prompt in the timestep embedding (``pooled_text``) and
each frame's progress through the video (``progress_embedding``).
Streaming with both equals the full forward: ``test_causal_wan.test_streaming_equals_one_block_causal_forward``."""

import dataclasses

import pytest
import torch

from streamt1.models.causal_wan import CausalWan
from streamt1.sprites.model import SpritesVideoModel, sprites_wan_config
from streamt1.sprites.text import TextEncoderConfig
from streamt1.sprites.train import load_init

from test_causal_wan import latents, tiny_model


def conditioned_model(spatial: bool = True, pooled: bool = True) -> CausalWan:
    return tiny_model(spatial_embedding=(2, 2) if spatial else None, pooled_text=pooled)


def test_spatial_table_is_added_to_every_frames_patch_tokens():
    model = conditioned_model(pooled=False)
    x = latents(3, seed=1)
    plain = dataclasses.replace(model.config, spatial_embedding=None)
    tokens, grid = model._patchify(x)
    reference = CausalWan(plain).double()
    reference.load_state_dict({k: v for k, v in model.state_dict().items() if k != "spatial_embedding"})
    expected, _ = reference._patchify(x)
    table = model.spatial_embedding.flatten(1).t()  # [rows*cols, C] in token order
    torch.testing.assert_close(tokens, expected + table.repeat(grid[0], 1)[None], rtol=0, atol=1e-12)


def test_spatial_table_refuses_another_grid():
    model = conditioned_model()
    x = torch.zeros(1, 12, 1, 6, 6, dtype=torch.float64)  # a 3x3 token grid
    with pytest.raises(ValueError, match="spatial embedding covers \\(2, 2\\)"):
        model._patchify(x)


def test_pooled_text_ignores_padding_rows_and_changes_the_prediction():
    model = conditioned_model(spatial=False)
    cfg = model.config
    states = torch.randn(2, cfg.text_len, cfg.text_dim, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    states[:, 3:] = 0  # three tokens, the rest padding
    longer = states.clone()
    longer[0, 3] = 5.0  # a fourth token in the first prompt only
    short, long = model.encode_text(states), model.encode_text(longer)
    torch.testing.assert_close(short.pooled[1], long.pooled[1], rtol=0, atol=0)
    assert (short.pooled[0] - long.pooled[0]).abs().max() > 1e-3
    mean = states[0, :3].mean(0)
    torch.testing.assert_close(short.pooled[0], model.pooled_text_embedding(mean), rtol=1e-12, atol=1e-12)
    x, t = latents(2, seed=2), torch.full((1, 2), 500.0, dtype=torch.float64)
    one = lambda kv, i: type(kv)(tuple(k[i:i + 1] for k in kv.keys), tuple(v[i:i + 1] for v in kv.values),
                                 kv.pooled[i:i + 1])
    with torch.no_grad():
        with_pool = model(x, t, one(long, 0), torch.arange(2), None)
        without = model(x, t, dataclasses.replace(one(long, 0), pooled=None), torch.arange(2), None)
    assert (with_pool - without).abs().mean() > 1e-3


def test_progress_needs_the_video_length_and_reads_each_frames_place_in_it():
    model = tiny_model(progress_embedding=True)
    states = torch.randn(1, model.config.text_len, model.config.text_dim, dtype=torch.float64,
                         generator=torch.Generator().manual_seed(5))
    with pytest.raises(ValueError, match="pass video_frames"):
        model.encode_text(states)
    with pytest.raises(ValueError, match="video_frames must be >= 1"):
        model.encode_text(states, 0)
    x, t = latents(3, seed=6), torch.full((1, 3), 600.0, dtype=torch.float64)
    with torch.no_grad():
        causal = torch.ones(3, 3, dtype=torch.bool).tril()  # frame 0 sees only itself
        short, long = (model(x, t, model.encode_text(states, n), torch.arange(3), causal) for n in (20, 80))
        # frames 2-4 of a 10-frame video are where frames 8-16 of a 37-frame one are: progress 2/9 .. 4/9
        later = model(x, t, model.encode_text(states, 10), torch.arange(2, 5), None)
        scaled = model(x, t, model.encode_text(states, 37), torch.arange(8, 17, 4), None)
    frame_0 = (slice(None), slice(None), 0)
    torch.testing.assert_close(short[frame_0], long[frame_0], rtol=0, atol=1e-12)  # progress 0 either way
    assert (short[:, :, 1:] - long[:, :, 1:]).abs().mean() > 1e-3
    # the same progress gives the same modulation; RoPE still sees the frames' own gaps, so compare the
    # embeddings the blocks receive rather than the outputs
    e_later, _ = model._time(t, 1, 3, model.encode_text(states, 10), torch.arange(2, 5)[None])
    e_scaled, _ = model._time(t, 1, 3, model.encode_text(states, 37), torch.arange(8, 17, 4)[None])
    torch.testing.assert_close(e_later, e_scaled, rtol=1e-12, atol=1e-12)
    assert (later - scaled).abs().mean() > 0  # positions still differ for attention


def test_init_from_weights_without_the_paths_starts_where_they_left_off():
    text = TextEncoderConfig()
    small = dict(dim=64, ffn_dim=128, num_heads=4, num_layers=1)
    old_config = dataclasses.replace(sprites_wan_config(text, **small), spatial_embedding=None, pooled_text=False)
    old = SpritesVideoModel(old_config, text).double().eval()
    new = SpritesVideoModel(dataclasses.replace(old_config, pooled_text=True, progress_embedding=True),
                            text).double().eval()
    load_init(new, old, "old")
    x, t = torch.randn(1, 48, 3, 16, 16, dtype=torch.float64), torch.full((1, 3), 700.0, dtype=torch.float64)
    prompt = ["a small red circle moves left over a blue background"]
    with torch.no_grad():
        before = old.transformer(x, t, old.transformer.encode_text(old.text_encoder(prompt).double()), torch.arange(3), None)
        after = new.transformer(x, t, new.transformer.encode_text(new.text_encoder(prompt).double(), 50),
                                torch.arange(3), None)
    torch.testing.assert_close(after, before, rtol=0, atol=0)  # the new paths start at zero
    other = SpritesVideoModel(dataclasses.replace(old_config, dim=32, ffn_dim=64), text)
    with pytest.raises(ValueError, match="another size"):
        load_init(new, other, "other")
