import dataclasses
import json
import math
import os
import time

import pytest
import torch
from safetensors.torch import load_file

from streamt1.models.sampler import warp_timesteps
from streamt1.sprites.model import SPRITES_STREAM, SpritesVideoModel, sprites_wan_config
from streamt1.sprites.text import TextEncoderConfig
from streamt1.sprites.training import check_loss, scale_straight_moves
from streamt1.sprites.world import DIRECTIONS, EVENT_BAND, SIZES, sample_scene, sprite_track
from streamt1.models.codec import PixelUnshuffleCodec
from streamt1.sprites.train import (
    paused_times,
    TrainVideoConfig,
    batch_items,
    change_weights,
    first_chunk_loss,
    event_window_start,
    first_chunk_timesteps,
    flow_loss,
    sample_item,
    sample_timesteps,
    loss_weights,
    predict_flow,
    redrawn_context,
    train,
    misdrawn,
)

TEXT = TextEncoderConfig(text_dim=16, num_layers=1, num_heads=2)
TINY = TrainVideoConfig(
    steps=2, batch_size=2, workers=0, log_every=1, save_every=1, max_video_frames=48,
    wan_overrides=dict(dim=32, ffn_dim=64, num_heads=2, num_layers=1), text=TEXT,
)


def test_sample_item_is_sink_plus_a_chunk_aligned_window():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        item = sample_item(g, TINY)
        frames, context, contrast, _, _, positions, targets, length, text = item
        assert frames.shape == (TINY.sequence_frames, 3, 64, 64) and isinstance(text, str)
        assert contrast.numel() == 0  # drawn only for a shape-weighted loss
        assert positions[:3].tolist() == [0, 1, 2]
        window = positions[3:]
        assert window[0] % 3 == 0 and window[0] >= 3 and (window.diff() == 1).all()
        assert window[-1] < TINY.max_video_frames
    a = sample_item(torch.Generator().manual_seed(5), TINY)
    b = sample_item(torch.Generator().manual_seed(5), TINY)
    assert torch.equal(a.frames, b.frames) and torch.equal(a.positions, b.positions) and a.video_frames == b.video_frames \
        and a.caption == b.caption


def test_first_chunk_only_items_are_the_sink_chunk_and_train():
    config = dataclasses.replace(TINY, context_chunks=0)
    item = sample_item(torch.Generator().manual_seed(3), config)
    frames, context, contrast, _, _, positions, targets, length, text = item
    assert frames.shape == (3, 3, 64, 64) and positions.tolist() == [0, 1, 2]
    model = SpritesVideoModel(sprites_wan_config(TEXT, **TINY.wan_overrides), TEXT)
    torch.nn.init.normal_(model.transformer.head.head.weight, std=0.02)
    loss = flow_loss(model, batch_items([item]), config, torch.Generator().manual_seed(0))
    loss.backward()
    assert loss.isfinite() and model.transformer.blocks[0].self_attn.q.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="context_chunks"):
        dataclasses.replace(TINY, context_chunks=-1)


def test_paused_items_hold_the_world_still_until_a_chunk_and_train_only_after_it():
    config = dataclasses.replace(TINY, paused_share=1.0, start_share=1.0)  # every item starts at the video's start
    g = torch.Generator().manual_seed(6)
    seen = set()
    for _ in range(12):
        item = sample_item(g, config)
        frames, context, contrast, _, _, positions, targets, length, text = item
        resume = int(targets.argmax())  # the first target frame
        seen.add(resume)
        assert resume % 3 == 0 and targets[resume:].eq(1).all() and targets[:resume].eq(0).all()
        assert positions.tolist() == list(range(len(positions)))  # positions stay the true ones
        for i in range(resume):  # paused frames show the moment the world resumes
            assert torch.equal(frames[i], frames[resume])
    assert seen == {3, 6, 9, 12}  # any chunk after the sink (TINY has 4 window chunks)
    plain = sample_item(torch.Generator().manual_seed(6), dataclasses.replace(config, paused_share=0.0))
    assert plain.targets.eq(1).all() and not torch.equal(plain.frames[0], plain.frames[1])  # a moving world otherwise
    # a paused frame is no target: changing it changes no loss term except through the context it gives
    model = SpritesVideoModel(sprites_wan_config(TEXT, **TINY.wan_overrides), TEXT)
    torch.nn.init.normal_(model.transformer.head.head.weight, std=0.02)
    item = sample_item(torch.Generator().manual_seed(7), config)
    frames, context, contrast, _, _, positions, targets, length, text = item
    loss = flow_loss(model, batch_items([item]), config, torch.Generator().manual_seed(0))
    everything = flow_loss(model, batch_items([item._replace(targets=torch.ones_like(targets))]), config,
                           torch.Generator().manual_seed(0))
    assert loss.isfinite() and loss != everything
    none = flow_loss(model, batch_items([item._replace(targets=torch.zeros_like(targets))]), config,
                     torch.Generator().manual_seed(0))
    assert none == 0  # no target at all: nothing to learn, not a division by zero
    with pytest.raises(ValueError, match="paused_share"):
        dataclasses.replace(TINY, paused_share=1.5)


def test_paused_contexts_move_at_a_drawn_speed_into_the_moment_the_world_resumes():
    config = dataclasses.replace(TINY, paused_share=1.0, start_share=1.0, paused_speeds=(-0.5, 0.5))
    g = torch.Generator().manual_seed(6)
    positions = torch.arange(15)  # the sink and TINY's four window chunks, right after it
    speeds = set()
    for _ in range(16):
        times, targets = paused_times(g, positions, config)
        resume = int(targets.argmax())
        assert times[resume:].tolist() == positions[resume:].float().tolist()  # the targets keep their times
        if resume > 1:  # a context of two or more frames: its speed is the slope of its times
            slopes = times[:resume].diff()
            slope = float(slopes[0])
            assert torch.allclose(slopes, torch.full_like(slopes, slope), atol=1e-5) and -0.5 <= slope <= 0.5
            assert float(times[resume - 1]) == pytest.approx(resume - slope)  # it ends where the world resumes
            speeds.add(round(slope, 3))
    assert min(speeds) < 0 < max(speeds)  # slower, and backwards
    still = paused_times(torch.Generator().manual_seed(6), positions, dataclasses.replace(config, paused_speeds=(0.0, 0.0)))
    resume = int(still[1].argmax())
    assert still[0][:resume].eq(resume).all()  # (0, 0): the world stands still, as paused items always did
    backwards = dataclasses.replace(config, paused_speeds=(-0.5, -0.5))
    item = sample_item(torch.Generator().manual_seed(6), backwards)
    resume = int(item.targets.argmax())
    assert not torch.equal(item.frames[0], item.frames[resume])  # the context's world moves
    for bad in ((0.5, -0.5), (-1.5, 0.0), (0.0, 2.0)):
        with pytest.raises(ValueError, match="paused_speeds"):
            dataclasses.replace(TINY, paused_share=1.0, paused_speeds=bad)
    # without paused items the band and the restart's weight would do nothing: refused, not ignored
    for unpaused in (dict(paused_speeds=(-0.5, 0.5)), dict(resume_weight=8.0)):
        with pytest.raises(ValueError, match="nothing to act on"):
            dataclasses.replace(TINY, **unpaused)


def test_the_chunk_after_a_pause_weighs_resume_weight_in_the_loss():
    config = dataclasses.replace(TINY, paused_share=1.0, start_share=1.0, resume_weight=4.0)
    g = torch.Generator().manual_seed(6)
    for _ in range(8):
        item = sample_item(g, config)
        resume = int(item.targets.gt(0).long().argmax())
        assert item.targets[:resume].eq(0).all() and item.targets[resume:resume + 3].eq(4).all()
        assert item.targets[resume + 3:].eq(1).all()  # later chunks continue a moving context: weight 1
    # the same item, its draws unchanged: only the loss's weighting of the resume chunk differs
    plain = sample_item(torch.Generator().manual_seed(7), dataclasses.replace(config, resume_weight=1.0))
    heavy = sample_item(torch.Generator().manual_seed(7), config)
    assert torch.equal(plain.frames, heavy.frames) and not torch.equal(plain.targets, heavy.targets)
    model = SpritesVideoModel(sprites_wan_config(TEXT, **TINY.wan_overrides), TEXT)
    torch.nn.init.normal_(model.transformer.head.head.weight, std=0.02)
    losses = [flow_loss(model, batch_items([it]), config, torch.Generator().manual_seed(0)) for it in (plain, heavy)]
    assert losses[0].isfinite() and losses[1].isfinite() and losses[0] != losses[1]
    with pytest.raises(ValueError, match="resume_weight"):
        dataclasses.replace(TINY, resume_weight=-1.0)


def test_a_paused_window_apart_from_the_sink_holds_back_at_least_its_first_chunk():
    # a window that starts later in the video than right after the sink: resuming at the window's start would
    # weigh a chunk that follows no pause
    config = dataclasses.replace(TINY, paused_share=1.0, resume_weight=4.0)
    sink, chunk = config.stream.sink_frames, config.stream.chunk_frames
    positions = torch.cat([torch.arange(sink), torch.arange(30, 30 + config.context_chunks * chunk)])
    g, resumes = torch.Generator().manual_seed(3), set()
    for _ in range(32):
        times, targets = paused_times(g, positions, config)
        resume = int(targets.argmax())
        assert resume >= sink + chunk and targets[sink:resume].eq(0).all()  # at least one window chunk held back
        assert times[sink:resume].eq(positions[resume]).all()  # still until the world resumes
        assert targets[:sink].eq(1).all()  # the sink is not part of the run
        resumes.add(resume)
    assert resumes == {sink + chunk * i for i in range(1, config.context_chunks)}
    one_chunk = dataclasses.replace(config, context_chunks=1)
    times, targets = paused_times(torch.Generator().manual_seed(3), positions[:sink + chunk], one_chunk)
    assert targets.eq(1).all()  # nothing to hold back: an unpaused item, no chunk weighted
    with pytest.raises(ValueError, match="context_chunks"):  # no window: paused items would do nothing
        dataclasses.replace(TINY, paused_share=0.5, context_chunks=0)


def test_straight_speeds_speed_up_the_straight_moves_of_a_training_item_only():
    seconds = torch.tensor([0.0, 0.5])
    sped_up = kept = 0
    for seed in range(20):
        scene = sample_scene(torch.Generator().manual_seed(seed), "train", num_frames=90)
        fast = scale_straight_moves(scene, torch.Generator().manual_seed(seed), (1.5, 2.5))  # speeds 0.75-1.5
        factors = set()
        for mine, theirs in zip(scene.all_sprites, fast.all_sprites):
            assert dataclasses.replace(theirs, speed=mine.speed) == mine  # only the speed changes
            if mine.motion in DIRECTIONS:
                factors.add(round(theirs.speed / mine.speed, 6))
                # the sprite travels that multiple of its distance
                distance = [math.hypot(*[(float(c.diff()) + 0.5) % 1.0 - 0.5 for c in sprite_track(s, seconds)[:2]])
                            for s in (mine, theirs)]  # the world wraps around its edges
                assert distance[1] == pytest.approx(distance[0] * theirs.speed / mine.speed)
                sped_up += 1
            else:
                assert theirs.speed == mine.speed
                kept += 1
        assert len(factors) <= 1 and all(1.5 <= f <= 2.5 for f in factors)  # one draw per item
        assert fast.background == scene.background and [e.frame for e in fast.events] == [e.frame for e in scene.events]
    assert sped_up > 5 and kept > 5
    straight = dataclasses.replace(scene.all_sprites[0], motion="left")
    fastest = scale_straight_moves(dataclasses.replace(scene, sprites=(dataclasses.replace(straight, speed=1.5),),
                                                        events=()), torch.Generator(), (3.0, 3.0))
    assert fastest.sprites[0].speed == 4.0  # up to the world's fastest, not past it
    # the default is the world's own speed and draws nothing, so older configs render the items they did
    g = torch.Generator().manual_seed(3)
    state = g.get_state()
    assert scale_straight_moves(scene, g, (1.0, 1.0)) is scene and torch.equal(g.get_state(), state)
    # one speed draws nothing either: the same item but for its straight moves, which start where they did
    own, differ = dataclasses.replace(TINY, start_share=1.0), 0
    for seed in range(4):
        slow = sample_item(torch.Generator().manual_seed(seed), own)
        fast = sample_item(torch.Generator().manual_seed(seed), dataclasses.replace(own, straight_speeds=(3.0, 3.0)))
        assert fast.caption == slow.caption and torch.equal(fast.frames[0], slow.frames[0])
        differ += not torch.equal(fast.frames, slow.frames)
    assert differ >= 2
    for bad in [(0.01, 2.0), (3.0, 2.0), (1.0, 5.0)]:
        with pytest.raises(ValueError, match="straight_speeds"):
            dataclasses.replace(TINY, straight_speeds=bad)


def test_misdrawn_items_draw_the_sprites_wrong_in_the_context_only():
    config = dataclasses.replace(TINY, misdrawn_share=1.0)
    g = torch.Generator().manual_seed(9)
    for _ in range(6):
        item = sample_item(g, config)
        frames, context, contrast, _, _, positions, targets, length, text = item
        assert context.shape == frames.shape and not torch.equal(context, frames)
        # the same world but the sprites' outlines: the background and the sprites' colours are kept
        differs = (context - frames).abs().amax(1)  # [F, H, W]
        assert 0 < differs.gt(0.05).float().mean() < 0.2
    smaller = 0
    for seed in range(20):
        scene = sample_scene(torch.Generator().manual_seed(seed), "train", num_frames=90)
        wrong = misdrawn(scene, torch.Generator().manual_seed(seed))
        for mine, theirs in zip(scene.all_sprites, wrong.all_sprites):
            assert theirs.shape != mine.shape and SIZES[theirs.size] <= SIZES[mine.size]
            assert dataclasses.replace(theirs, shape=mine.shape, size=mine.size) == mine
            smaller += theirs.size != mine.size
        assert wrong.background == scene.background and [e.frame for e in wrong.events] == [e.frame for e in scene.events]
    assert smaller > 5  # some sprites, not all, lose a size
    # a share of 0 draws nothing (the items older configs rendered) and leaves the context empty
    plain = sample_item(torch.Generator().manual_seed(9), TINY)
    assert plain.context.numel() == 0
    # the loss reads the context: the misdrawn item's differs from the same item with its own frames as context
    model = SpritesVideoModel(sprites_wan_config(TEXT, **TINY.wan_overrides), TEXT)
    torch.nn.init.normal_(model.transformer.head.head.weight, std=0.02)
    item = sample_item(torch.Generator().manual_seed(5), config)
    frames, context, contrast, _, _, positions, targets, length, text = item

    def loss(clean):
        return flow_loss(model, batch_items([item._replace(context=clean)]), config, torch.Generator().manual_seed(0))
    assert torch.equal(loss(frames), loss(torch.zeros(0)))  # its own frames: as without a context
    assert loss(context) != loss(frames)
    with pytest.raises(ValueError, match="misdrawn_share"):
        dataclasses.replace(TINY, misdrawn_share=-0.1)



def test_misdrawn_first_copies_start_from_other_shapes_and_aim_at_the_caption():
    config = dataclasses.replace(TINY, first_chunk_copies=3, misdrawn_first_share=1.0)
    item = sample_item(torch.Generator().manual_seed(4), config)
    chunk = config.stream.chunk_frames
    assert item.misdrawn_first.shape == (chunk, 3, 64, 64) and not torch.equal(item.misdrawn_first, item.frames[:chunk])
    assert sample_item(torch.Generator().manual_seed(4), TINY).misdrawn_first.numel() == 0  # off: nothing drawn
    model = SpritesVideoModel(sprites_wan_config(TEXT, **config.wan_overrides), TEXT)
    codec = PixelUnshuffleCodec(4)
    x0, wrong = codec.encode(item.frames[None]), codec.encode(item.misdrawn_first[None])
    weights = change_weights(x0, item.positions[None], config)
    states = model.text_encoder([item.caption])
    seen = []

    def flow_to(target):  # a transformer whose x0 prediction x_t - sigma * flow is ``target``
        def forward(x_t, t, text, positions, mask):
            seen.append((x_t, t))
            return (x_t - target) / (t / config.stream.num_train_timesteps)[:, None, :, None, None]
        return forward

    def loss(target, share=1.0):
        model.transformer.forward = flow_to(target)
        return first_chunk_loss(model, x0, weights, states, item.positions[None], item.video_frames[None],
                                dataclasses.replace(config, misdrawn_first_share=share), torch.Generator().manual_seed(0),
                                wrong)
    # the target is the caption's render, not the misdrawn one the copies were noised from
    assert loss(x0[:, :, :chunk].repeat(3, 1, 1, 1, 1)) < 1e-8
    assert loss(wrong.repeat(3, 1, 1, 1, 1)) > 1e-3
    x_t, t = seen[-1]
    sigma = t / config.stream.num_train_timesteps
    assert ((sigma >= 0.6) & (sigma <= 0.95)).all()  # MISDRAWN_SIGMAS
    # share 0: the usual copies (noise - x0), whatever misdrawn chunk is passed
    assert loss(x0[:, :, :chunk].repeat(3, 1, 1, 1, 1), share=0.0) < 1e-6
    del model.transformer.forward
    with pytest.raises(ValueError, match="misdrawn_first_share"):
        dataclasses.replace(TINY, misdrawn_first_share=2.0)
    with pytest.raises(ValueError, match="first_chunk_copies"):  # nothing for the share to act on
        dataclasses.replace(TINY, first_chunk_copies=0, misdrawn_first_share=0.5)


def test_misdrawn_window_chunks_start_from_other_shapes_after_a_right_context():
    config = dataclasses.replace(TINY, first_chunk_copies=0, misdrawn_window_share=1.0)
    sink, chunk = config.stream.sink_frames, config.stream.chunk_frames
    item = sample_item(torch.Generator().manual_seed(4), config)
    assert item.misdrawn_window.shape == (config.sequence_frames - sink, 3, 64, 64)
    assert not torch.equal(item.misdrawn_window, item.frames[sink:])
    assert item.context.numel() == 0  # the context stays the caption's render
    off = sample_item(torch.Generator().manual_seed(4), dataclasses.replace(config, misdrawn_window_share=0.0))
    assert off.misdrawn_window.numel() == 0 and torch.equal(off.frames, item.frames)  # off: nothing drawn
    # with the first-chunk share too, both come from one misdrawn scene: the first chunk's outlines go on
    both = sample_item(torch.Generator().manual_seed(4), dataclasses.replace(config, first_chunk_copies=1,
                                                                               misdrawn_first_share=1.0))
    assert torch.equal(both.misdrawn_window, item.misdrawn_window)
    model = SpritesVideoModel(sprites_wan_config(TEXT, **config.wan_overrides), TEXT)
    codec = model.codec
    x0, wrong = codec.encode(item.frames[None]), codec.encode(item.misdrawn_window[None])
    seen = []

    def flow_to(target):  # a transformer whose noisy copies' x0 prediction x_t - sigma * flow is ``target``
        def forward(x, t, text, positions, mask):
            f = x.shape[2] // 2
            x_t, t = x[:, :, f:], t[:, f:]
            seen.append((x_t, t))
            flow = (x_t - target) / (t / config.stream.num_train_timesteps)[:, None, :, None, None]
            return torch.cat([torch.zeros_like(flow), flow], 2)
        return forward

    def loss(target, of=item):
        model.transformer.forward = flow_to(target)
        return flow_loss(model, batch_items([of]), config, torch.Generator().manual_seed(0))
    assert loss(x0) < 1e-6  # every chunk, the misdrawn window ones too, is aimed at the caption's render
    x_t, t = seen[-1]
    sigma = t[0] / config.stream.num_train_timesteps
    assert ((sigma[sink:] >= 0.6) & (sigma[sink:] <= 0.95)).all()  # MISDRAWN_SIGMAS
    # the sink chunk keeps its usual timestep (the share leaves it to the first-chunk copies)
    n = config.stream.num_train_timesteps
    usual = sample_timesteps(1, config.sequence_frames // chunk, config, torch.Generator().manual_seed(0),
                             torch.device("cpu"))[0].repeat_interleave(chunk) / n
    assert torch.allclose(sigma[:sink], usual[:sink]) and not torch.allclose(sigma[sink:], usual[sink:])
    # a share of 0.5: only the chunks drawn for it are rendered misdrawn, and only those get the misdrawn band
    half = dataclasses.replace(config, misdrawn_window_share=0.5)
    chunk_changed = [(lambda it: (it.misdrawn_window != it.frames[sink:]).unflatten(0, (-1, chunk)).flatten(1).any(1))(
        sample_item(torch.Generator().manual_seed(seed), half)) for seed in range(8)]
    assert any(c.any() and not c.all() for c in chunk_changed)  # some items mix both kinds of chunk
    seed = next(i for i, c in enumerate(chunk_changed) if c.any() and not c.all())
    mixed = sample_item(torch.Generator().manual_seed(seed), half)
    assert loss(codec.encode(mixed.frames[None]), of=mixed) < 1e-6
    changed = torch.cat([torch.zeros(sink, dtype=torch.bool), chunk_changed[seed].repeat_interleave(chunk)])
    sigma = seen[-1][1][0] / n
    assert ((sigma[changed] >= 0.6) & (sigma[changed] <= 0.95)).all()
    assert torch.allclose(sigma[~changed], usual[~changed])
    # the window chunks are noised from the misdrawn render: with an all-white one, each window frame's
    # mean is (1 - sigma) times white's (the noise averages out), the sink chunk's (1 - sigma) times its own
    white = item._replace(misdrawn_window=torch.ones_like(item.misdrawn_window))
    model.transformer.forward = flow_to(x0)
    flow_loss(model, batch_items([white]), config, torch.Generator().manual_seed(0))
    x_t, t = seen[-1]
    keep = 1 - t[0] / config.stream.num_train_timesteps
    mean = x_t.mean((0, 1, 3, 4))
    toward_white = (mean - keep * codec.encode(white.misdrawn_window[None]).mean((0, 1, 3, 4)).mean()).abs()
    toward_true = (mean - keep * x0.mean((0, 1, 3, 4))).abs()
    assert (toward_white[sink:] < toward_true[sink:] / 3).all() and (toward_true[:sink] < 0.05).all()
    del model.transformer.forward
    with pytest.raises(ValueError, match="misdrawn_window_share"):
        dataclasses.replace(TINY, misdrawn_window_share=1.5)
    with pytest.raises(ValueError, match="context_chunks"):  # no window chunk for the share to act on
        dataclasses.replace(TINY, context_chunks=0, misdrawn_window_share=0.5)

def test_rollout_items_learn_after_the_models_own_redraw_of_their_context():
    config = dataclasses.replace(TINY, first_chunk_copies=0, context_noise=0.0, rollout_share=1.0)
    n, chunk = config.stream.num_train_timesteps, config.stream.chunk_frames
    items = [sample_item(torch.Generator().manual_seed(s), config) for s in (4, 5)]
    model = SpritesVideoModel(sprites_wan_config(TEXT, **config.wan_overrides), TEXT)
    x0 = model.codec.encode(torch.stack([it.frames for it in items]))
    wrong = x0.flip(-1) + 0.1  # another picture the model could draw
    calls = []

    def aim_at(target):  # a transformer whose noisy copies' x0 prediction x_t - sigma * flow is ``target``
        def forward(x, t, text, positions, mask):
            f = x.shape[2] // 2
            calls.append((x[:, :, :f], t[:, f:]))
            sigma = (t[:, f:] / n).clamp(min=1e-3)[:, None, :, None, None]  # the redraw's filler copies: t = 0
            flow = (x[:, :, f:] - target[: x.shape[0], :, :f]) / sigma
            return torch.cat([torch.zeros_like(flow), flow], 2)
        return forward

    model.transformer.forward = aim_at(wrong)
    text = model.transformer.encode_text(model.text_encoder([it.caption for it in items]),
                                         torch.stack([it.video_frames for it in items]))
    positions = torch.stack([it.positions for it in items])
    redraw = redrawn_context(model, x0, text, positions, config, torch.Generator().manual_seed(0))
    # Euler steps of a model aimed at ``wrong`` end on it: the redraw is the model's version, not the render
    assert torch.allclose(redraw, wrong, atol=1e-5) and not redraw.requires_grad
    chunks = config.sequence_frames // chunk
    assert len(calls) == 3 * chunks  # ROLLOUT_STEPS per chunk, chunk by chunk as the model streams
    for i, (context, t) in enumerate(calls):
        end = (i // 3 + 1) * chunk  # each chunk after the earlier chunks' redraws, not the true frames
        assert context.shape[2] == end and torch.allclose(context[:, :, : end - chunk], wrong[:, :, : end - chunk], atol=1e-5)
    first, second, third = (torch.cat([calls[3 * k + j][1][:, -chunk:] for k in range(chunks)], 1) / n for j in range(3))
    assert ((first >= 0.7) & (first <= 1.0)).all()  # ROLLOUT_SIGMAS
    assert (first.unflatten(1, (-1, chunk)).std(-1) == 0).all()  # one sigma per chunk
    assert first.unique().numel() > 2  # drawn per chunk, not one for all
    assert torch.allclose(second, first * 2 / 3) and torch.allclose(third, first / 3)
    # the training pass after the redraw sees it as the clean context, aimed at the caption's render
    calls.clear()
    model.transformer.forward = aim_at(x0)
    loss = flow_loss(model, batch_items(items), config, torch.Generator().manual_seed(0))
    assert len(calls) == 3 * chunks + 1 and loss < 1e-6  # the redraw, then the training pass aimed at the render
    assert torch.allclose(calls[-1][0], x0, atol=1e-5)  # a model aimed at the render redraws the render
    model.transformer.forward = aim_at(wrong)
    calls.clear()
    half = dataclasses.replace(config, rollout_share=0.5)  # the batch's first item only
    flow_loss(model, batch_items(items), half, torch.Generator().manual_seed(0))
    context = calls[-1][0]
    assert torch.allclose(context[:1], wrong[:1], atol=1e-5) and torch.equal(context[1:], x0[1:])
    assert all(c.shape[0] == 1 for c, _ in calls[:-1])  # the redraw runs on that item alone
    calls.clear()
    flow_loss(model, batch_items(items), dataclasses.replace(config, rollout_share=0.0),
              torch.Generator().manual_seed(0))
    assert len(calls) == 1 and torch.equal(calls[0][0], x0)  # off: no redraw, nothing drawn for it
    del model.transformer.forward
    # a real model: the loss is finite and trains the networks through the training pass only
    torch.nn.init.normal_(model.transformer.head.head.weight, std=0.02)
    loss = flow_loss(model, batch_items(items), config, torch.Generator().manual_seed(0))
    loss.backward()
    assert loss.isfinite() and model.transformer.blocks[0].self_attn.q.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="rollout_share"):
        dataclasses.replace(TINY, rollout_share=-0.1)


def test_timesteps_mix_the_inference_schedule_and_uniform():
    s = TINY.stream
    schedule = warp_timesteps(s.denoising_steps, s.num_train_timesteps, s.shift).float()
    t = sample_timesteps(64, 5, TINY, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert t.shape == (64, 5) and (t >= 0).all() and (t <= s.num_train_timesteps).all()
    on_schedule = torch.isclose(t[..., None], schedule).any(-1).float().mean()
    assert 0.3 < on_schedule < 0.7


def test_first_chunk_copies_draw_their_noise_from_the_band_when_one_is_set():
    g, cpu, n = torch.Generator().manual_seed(0), torch.device("cpu"), 4096
    sigma = first_chunk_timesteps(n, dataclasses.replace(TINY, first_chunk_sigmas=(0.5, 0.85)), g, cpu) / 1000
    assert sigma.shape == (n, 1) and sigma.min() >= 0.5 and sigma.max() <= 0.85
    assert sigma.min() < 0.52 and sigma.max() > 0.83  # the whole band, not a point in it
    everywhere = first_chunk_timesteps(n, TINY, g, cpu) / 1000  # without a band: as every chunk
    assert everywhere.min() < 0.3 and everywhere.max() > 0.95
    for band in ((0.6, 0.6), (0.8, 0.5), (-0.1, 0.5), (0.5, 1.2)):
        with pytest.raises(ValueError, match="first_chunk_sigmas"):
            dataclasses.replace(TINY, first_chunk_sigmas=band)


def test_flow_loss_is_finite_and_trains_both_networks():
    model = SpritesVideoModel(sprites_wan_config(TEXT, **TINY.wan_overrides), TEXT)
    torch.nn.init.normal_(model.transformer.head.head.weight, std=0.02)  # the zero-init head blocks gradients
    item = sample_item(torch.Generator().manual_seed(1), TINY)
    frames, context, contrast, _, _, positions, targets, length, text = item
    loss = flow_loss(model, batch_items([item]), TINY, torch.Generator().manual_seed(0))
    assert loss.isfinite()
    loss.backward()
    assert model.text_encoder.token_embedding.weight.grad.abs().sum() > 0
    assert model.transformer.blocks[0].self_attn.q.weight.grad.abs().sum() > 0


def _flows(device: str, masks: tuple[str, ...]) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """(teacher-forced flow prediction, q-projection gradient of its mean square) of one batch per
    attention: ``dense`` (the frame mask through SDPA), ``flex`` (its block mask), ``none`` (no mask).
    Gradients only where FlexAttention has a backward: CUDA."""
    torch.manual_seed(0)
    model = SpritesVideoModel(sprites_wan_config(TEXT, **TINY.wan_overrides), TEXT).to(device)
    torch.nn.init.normal_(model.transformer.head.head.weight, std=0.5)  # predictions that carry the attention
    items = [sample_item(torch.Generator().manual_seed(i), TINY) for i in (1, 2)]
    frames = torch.stack([item.frames for item in items]).to(device)
    positions = torch.stack([item.positions for item in items]).to(device)
    x0 = model.codec.encode(frames)
    g = torch.Generator(device).manual_seed(0)
    x_t = torch.randn(x0.shape, generator=g, device=device)
    t = torch.full(positions.shape, 700.0, device=device)
    results = []
    for kind in masks:
        model.zero_grad()
        with torch.set_grad_enabled(device == "cuda"):
            # encoded per pass: each backward frees its graph, the text encoder's part included
            text = model.transformer.encode_text(model.text_encoder([item.caption for item in items]),
                                                 torch.stack([item.video_frames for item in items]))
            if kind == "none":
                f = x0.shape[2]
                flow = model.transformer(torch.cat([x0, x_t], 2), torch.cat([torch.zeros_like(t), t], 1), text,
                                         torch.cat([positions, positions], 1), None)[:, :, f:]
            else:
                flow = predict_flow(model, x0, x_t, t, text, positions, dataclasses.replace(TINY, attention={
                    "dense": "sdpa", "flex": "flex"}[kind]))
        if device == "cuda":
            flow.square().mean().backward()
        grad = model.transformer.blocks[0].self_attn.q.weight.grad
        results.append((flow.detach(), None if grad is None else grad.clone()))
    return results


def test_flex_attention_sees_what_the_dense_mask_allows():
    """FlexAttention's block mask skips what teacher forcing's mask rules out: the same predictions
    (a mask that allowed everything would not give them)."""
    (dense, _), (flex, _), (unmasked, _) = _flows("cpu", ("dense", "flex", "none"))
    torch.testing.assert_close(flex, dense, rtol=1e-5, atol=1e-5)
    assert (unmasked - dense).abs().max() > 1e-2
    with pytest.raises(ValueError, match="attention='fast'"):
        TrainVideoConfig(attention="fast")


def test_flex_attention_trains_on_cuda_only(tmp_path):
    with pytest.raises(ValueError, match="attention='flex' trains on CUDA only"):
        train(dataclasses.replace(TINY, attention="flex"), tmp_path, "cpu")
    card = train(TINY, tmp_path, "cpu")  # auto: the dense mask here, and the card says so
    assert json.loads((tmp_path / "sprites_model.json").read_text())["training"]["train_config"]["attention"] == "sdpa"
    assert card["history"]


def test_auto_attention_leaves_flex_out_where_the_heads_are_too_narrow_for_it():
    from streamt1.sprites.train import training_attention

    cuda, cpu = torch.device("cuda"), torch.device("cpu")  # device objects only: nothing runs on them
    auto, flex = TINY, dataclasses.replace(TINY, attention="flex")
    assert training_attention(auto, cuda, 32) == "flex"
    assert training_attention(auto, cuda, 8) == "sdpa"  # FlexAttention's kernels refuse heads under 16 channels
    assert training_attention(auto, cpu, 32) == "sdpa"
    assert training_attention(dataclasses.replace(TINY, attention="sdpa"), cuda, 32) == "sdpa"
    with pytest.raises(ValueError, match="at least 16 channels and this model's have 8"):
        training_attention(flex, cuda, 8)
    with pytest.raises(ValueError, match="CUDA only"):
        training_attention(flex, cpu, 32)


def test_compiled_blocks_train_as_the_eager_ones():
    """``train --compile`` runs the blocks' work around attention through torch.compile: the same loss
    and gradients (aot_eager here: inductor would take the suite minutes on the CPU)."""
    items = [sample_item(torch.Generator().manual_seed(i), TINY) for i in (1, 2)]
    batch = batch_items(items)
    results = []
    for compiled in (False, True):
        torch.manual_seed(0)
        model = SpritesVideoModel(sprites_wan_config(TEXT, **TINY.wan_overrides), TEXT)
        torch.nn.init.normal_(model.transformer.head.head.weight, std=0.5)
        if compiled:
            model.transformer.compile_blocks(backend="aot_eager")
        loss = flow_loss(model, batch, TINY, torch.Generator().manual_seed(0))
        loss.backward()
        results.append((loss.detach(), model.transformer.blocks[0].ffn[0].weight.grad.clone()))
    (eager_loss, eager_grad), (compiled_loss, compiled_grad) = results
    torch.testing.assert_close(compiled_loss, eager_loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(compiled_grad, eager_grad, rtol=1e-4, atol=1e-6)
    assert eager_grad.abs().sum() > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="FlexAttention's backward needs CUDA")
def test_flex_attention_trains_as_the_dense_mask_does_on_cuda():
    (dense, dense_grad), (flex, flex_grad) = _flows("cuda", ("dense", "flex"))
    torch.testing.assert_close(flex, dense, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(flex_grad, dense_grad, rtol=1e-3, atol=1e-5)
    assert dense_grad.abs().sum() > 0


def _moving_square(positions: list[int]) -> torch.Tensor:
    """Latents ``[1, 48, F, 16, 16]`` of a grey frame with a white 8x8 square at x = 2 * position pixels."""
    frames = torch.full((len(positions), 3, 64, 64), 0.5)
    for i, p in enumerate(positions):
        frames[i, :, 20:28, 2 * p:2 * p + 8] = 1.0
    return PixelUnshuffleCodec(4).encode(frames[None])


def test_change_weights_mark_moving_cells_of_neighbouring_frames_only():
    config = TrainVideoConfig(motion_weight=3.0)
    positions = torch.tensor([[0, 1, 2, 9, 10, 11]])  # the sink, then a window that is not its neighbour
    weights = change_weights(_moving_square(positions[0].tolist()), positions, config)
    assert weights.shape == (1, 1, 6, 16, 16) and set(weights.unique().tolist()) == {1.0, 4.0}
    moving = weights[0, 0] > 1
    assert not moving[:, :4].any() and not moving[:, 8:].any()  # rows the square never touches
    assert moving[0].any() and moving[5].any()  # the square moves between every pair of neighbours
    # frame 2 (position 2) and frame 3 (position 9) are not neighbours: their difference marks nothing
    only_jump = change_weights(_moving_square([0, 0, 0, 9, 9, 9]), positions, config)
    assert (only_jump == 1).all()
    static = change_weights(_moving_square([4] * 6), positions, config)
    assert (static == 1).all()


def test_shape_weight_adds_the_pooled_contrast_to_the_first_chunk_only():
    positions = torch.tensor([[0, 1, 2, 9, 10, 11]] * 2)
    x0 = _moving_square([0, 1, 2, 9, 10, 11]).repeat(2, 1, 1, 1, 1)
    contrast = torch.zeros(2, 3, 64, 64)
    contrast[1, 2, 8:12, 4:8] = 1.0  # one full 4x4 cell: latent row 2, column 1 of frame 2
    contrast[1, 0, 0:2, 0:4] = 1.0  # half a cell
    config = TrainVideoConfig(motion_weight=3.0, shape_weight=6.0)
    weights = loss_weights(x0, contrast, positions, 4, config)
    motion = loss_weights(x0, torch.zeros(0), positions, 4, dataclasses.replace(config, shape_weight=0.0))
    assert weights.shape == motion.shape == (2, 1, 6, 16, 16)
    extra = weights - motion
    assert (extra[0] == 0).all() and (extra[:, :, 3:] == 0).all()  # later chunks keep their weights
    assert extra[1, 0, 2, 2, 1] == 6.0 and extra[1, 0, 0, 0, 0] == 3.0 and extra.sum() == 9.0


def test_the_shape_contrast_is_drawn_and_read_only_with_a_shape_weight():
    model = SpritesVideoModel(sprites_wan_config(TEXT, **TINY.wan_overrides), TEXT)
    torch.nn.init.normal_(model.transformer.head.head.weight, std=0.02)
    weighted = dataclasses.replace(TINY, shape_weight=8.0)
    item = sample_item(torch.Generator().manual_seed(4), weighted)
    frames, context, contrast, _, _, positions, targets, length, text = item
    assert contrast.shape == (3, 64, 64) and contrast.sum() > 0 and contrast.max() <= 1
    unweighted = sample_item(torch.Generator().manual_seed(4), TINY)
    assert torch.equal(unweighted.frames, frames) and unweighted.caption == text  # the same item, without its contrast

    def loss(config, contrast):
        return flow_loss(model, batch_items([item._replace(contrast=contrast)]), config,
                         torch.Generator().manual_seed(0))
    plain = loss(TINY, contrast)
    assert torch.equal(plain, loss(TINY, torch.zeros(0)))  # weight 0: the contrast is unused
    assert loss(weighted, contrast) != plain and torch.equal(loss(weighted, torch.zeros_like(contrast)), plain)
    with pytest.raises(ValueError, match="shape_weight"):
        dataclasses.replace(TINY, shape_weight=-1.0)


def test_first_chunk_loss_reads_only_the_first_chunk():
    config = dataclasses.replace(TINY, first_chunk_copies=3)
    model = SpritesVideoModel(sprites_wan_config(TEXT, **config.wan_overrides), TEXT)
    torch.nn.init.normal_(model.transformer.head.head.weight, std=0.02)
    item = sample_item(torch.Generator().manual_seed(2), config)
    frames, context, contrast, _, _, positions, targets, length, text = item
    x0 = PixelUnshuffleCodec(4).encode(frames[None])
    weights = change_weights(x0, positions[None], config)
    other = x0.clone()
    other[:, :, 3:] = torch.randn_like(other[:, :, 3:])
    states = model.text_encoder([text])
    loss = [first_chunk_loss(model, x, weights, states, positions[None], length[None], config, torch.Generator().manual_seed(0))
            for x in (x0, other)]
    assert torch.equal(loss[0], loss[1])
    changed = x0.clone()
    changed[:, :, 1] += 0.5  # a frame of the first chunk
    assert first_chunk_loss(model, changed, weights, states, positions[None], length[None], config,
                            torch.Generator().manual_seed(0)) != loss[0]
    with_copies = flow_loss(model, batch_items([item]), config, torch.Generator().manual_seed(0))
    without = flow_loss(model, batch_items([item]), dataclasses.replace(config, first_chunk_copies=0),
                        torch.Generator().manual_seed(0))
    assert with_copies.isfinite() and with_copies != without


def test_train_saves_a_loadable_model_with_a_card(tmp_path):
    train(TINY, tmp_path, "cpu")
    card = json.loads((tmp_path / "sprites_model.json").read_text())
    assert card["training"]["steps_done"] == 2 and len(card["training"]["history"]) == 2
    model = SpritesVideoModel.from_pretrained(tmp_path)
    assert model.transformer.config.dim == 32
    assert model.stream == SPRITES_STREAM  # the sampling schedule travels with the weights


def test_settings_that_are_not_finite_are_refused():
    # NaN passes every `< 0` and range check written as a negation; each trainer's config shares this one
    for bad in (dict(paused_share=1.0, resume_weight=float("nan")), dict(motion_weight=float("inf")),
                dict(straight_speeds=(float("nan"), 2.0)), dict(lr=float("nan"))):
        with pytest.raises(ValueError, match="must be a finite number"):
            dataclasses.replace(TINY, **bad)


def test_a_diverged_run_stops_with_a_clear_error_and_saves_no_nan_weights(tmp_path):
    train(TINY, tmp_path, "cpu")
    before = load_file(str(tmp_path / "sprites_model.safetensors"))
    # saved every step, logged (the EMA's probe loss checked) at none: the saves must check the weights themselves
    exploding = dataclasses.replace(TINY, lr=1e30, steps=4, save_every=1, log_every=100)
    with pytest.raises(ValueError, match=r"training diverged: (the loss is (nan|inf)|\d+ weight tensors hold NaN or "
                                         r"inf \(e\.g\. [\w.]+\)) at step \d"):
        train(exploding, tmp_path, "cpu")
    # the folder keeps finite weights: the earlier run's, or those of the steps before the divergence
    after = load_file(str(tmp_path / "sprites_model.safetensors"))
    assert after.keys() == before.keys() and all(t.isfinite().all() for t in after.values())
    assert json.loads((tmp_path / "sprites_model.json").read_text())["training"]["history"]
    assert check_loss(0.25, 1, "x") == 0.25
    with pytest.raises(ValueError, match="training diverged: the EMA's probe loss is nan at step 3"):
        check_loss(float("nan"), 3, "x", "EMA's probe loss")


def test_training_can_continue_from_saved_weights(tmp_path):
    train(TINY, tmp_path / "first", "cpu")
    first = SpritesVideoModel.from_pretrained(tmp_path / "first")
    config = TrainVideoConfig(**{**TINY.__dict__, "steps": 1, "init": str(tmp_path / "first"), "lr": 1e-9})
    train(config, tmp_path / "second", "cpu")
    second = SpritesVideoModel.from_pretrained(tmp_path / "second")
    weight = "transformer.blocks.0.ffn.0.weight"
    # EMA of the loaded weights after one tiny step: the start, not a fresh initialisation
    torch.testing.assert_close(second.state_dict()[weight], first.state_dict()[weight], atol=1e-3, rtol=0)
    bigger = TrainVideoConfig(**{**config.__dict__, "wan_overrides": dict(dim=64, ffn_dim=64, num_heads=2,
                                                                          num_layers=1)})
    with pytest.raises(ValueError, match="another size"):
        train(bigger, tmp_path / "third", "cpu")


def test_a_continued_model_keeps_its_starts_sampling_settings(tmp_path):
    guided = dataclasses.replace(SPRITES_STREAM, guidance_scale=3.0, guided_chunks=1)
    SpritesVideoModel(sprites_wan_config(TEXT, **TINY.wan_overrides), TEXT, guided).save_pretrained(tmp_path / "a")
    train(dataclasses.replace(TINY, steps=1, init=str(tmp_path / "a")), tmp_path / "b", "cpu")
    assert SpritesVideoModel.from_pretrained(tmp_path / "b").stream == guided
    train(dataclasses.replace(TINY, steps=1), tmp_path / "new", "cpu")  # from scratch: the default sampling
    assert SpritesVideoModel.from_pretrained(tmp_path / "new").stream == SPRITES_STREAM


def test_a_wider_window_is_trained_and_saved_with_the_starts_sampling(tmp_path, monkeypatch):
    import streamt1.sprites.train as trainer

    guided = dataclasses.replace(SPRITES_STREAM, guidance_scale=3.0, guided_chunks=1)
    SpritesVideoModel(sprites_wan_config(TEXT, **TINY.wan_overrides), TEXT, guided).save_pretrained(tmp_path / "a")
    windows = []
    original = trainer.teacher_forcing_mask
    monkeypatch.setattr(trainer, "teacher_forcing_mask", lambda *a, **k: windows.append(a[3]) or original(*a, **k))
    wide = dataclasses.replace(TINY, steps=1, init=str(tmp_path / "a"), context_chunks=6, window_frames=15)
    train(wide, tmp_path / "b", "cpu")
    assert set(windows) == {15}  # the training mask is the wider window's
    assert SpritesVideoModel.from_pretrained(tmp_path / "b").stream == dataclasses.replace(guided, window_frames=15)
    # continued without a window: it trains and keeps its own
    train(dataclasses.replace(wide, init=str(tmp_path / "b"), window_frames=None), tmp_path / "c", "cpu")
    card = json.loads((tmp_path / "c" / "sprites_model.json").read_text())
    assert card["stream_config"]["window_frames"] == card["training"]["train_config"]["stream"]["window_frames"] == 15
    with pytest.raises(ValueError, match="window_frames=10 is invalid"):
        dataclasses.replace(TINY, window_frames=10)


def test_a_deeper_model_grows_from_an_init_model_and_starts_as_it_was(tmp_path):
    first = SpritesVideoModel(sprites_wan_config(TEXT, **TINY.wan_overrides), TEXT)
    first.transformer.init_weights(torch.Generator().manual_seed(0))
    torch.nn.init.normal_(first.transformer.head.head.weight, std=0.5)  # a head that shows the blocks' output
    first.save_pretrained(tmp_path / "first")
    first = SpritesVideoModel.from_pretrained(tmp_path / "first")  # float16 on disk, as --init reads it
    config = TrainVideoConfig(**{**TINY.__dict__, "steps": 1, "init": str(tmp_path / "first"), "lr": 1e-9,
                                 "wan_overrides": {**TINY.wan_overrides, "num_layers": 3}})
    train(config, tmp_path / "deeper", "cpu")
    deeper = SpritesVideoModel.from_pretrained(tmp_path / "deeper")
    assert len(deeper.transformer.blocks) == 3
    torch.testing.assert_close(deeper.state_dict()["transformer.blocks.0.ffn.0.weight"],
                               first.state_dict()["transformer.blocks.0.ffn.0.weight"], atol=1e-3, rtol=0)
    assert deeper.transformer.blocks[2].ffn[0].weight.abs().sum() > 0  # fresh, not a copy of zeros
    x, t = torch.randn(1, 48, 3, 16, 16), torch.full((1, 3), 500.0)
    with torch.no_grad():
        flows = [m.transformer(x, t, m.transformer.encode_text(m.text_encoder(["a red circle"])), torch.arange(3),
                               None) for m in (first, deeper)]
    torch.testing.assert_close(flows[1], flows[0], atol=2e-3, rtol=0)  # one step at lr 1e-9 from the same start
    unnamed_depth = {k: v for k, v in TINY.wan_overrides.items() if k != "num_layers"}
    train(dataclasses.replace(config, init=str(tmp_path / "deeper"), wan_overrides=unnamed_depth), tmp_path / "again",
          "cpu")
    assert len(SpritesVideoModel.from_pretrained(tmp_path / "again").transformer.blocks) == 3  # keeps its depth
    shallower = TrainVideoConfig(**{**config.__dict__, "init": str(tmp_path / "deeper"),
                                    "wan_overrides": {**TINY.wan_overrides, "num_layers": 2}})
    with pytest.raises(ValueError, match="another size"):
        train(shallower, tmp_path / "shallower", "cpu")


def test_a_refiner_is_added_to_an_init_model_at_pixel_scale_and_starts_as_it_was(tmp_path):
    train(TINY, tmp_path / "first", "cpu")
    first = SpritesVideoModel.from_pretrained(tmp_path / "first")
    config = TrainVideoConfig(**{**TINY.__dict__, "steps": 1, "init": str(tmp_path / "first"), "lr": 1e-9,
                                 "wan_overrides": {**TINY.wan_overrides, "refiner_channels": 8}})
    train(config, tmp_path / "refined", "cpu")
    refined = SpritesVideoModel.from_pretrained(tmp_path / "refined")
    assert (refined.transformer.config.refiner_channels, refined.transformer.config.refiner_shuffle) == (8, 4)
    assert refined.transformer.refiner.net[0].in_channels == 7  # output and input pixels (RGB each) + sigma
    x, t = torch.randn(1, 48, 3, 16, 16), torch.full((1, 3), 500.0)
    with torch.no_grad():
        flows = [m.transformer(x, t, m.transformer.encode_text(m.text_encoder(["a red circle"])), torch.arange(3),
                               None) for m in (first, refined)]
    torch.testing.assert_close(flows[1], flows[0], atol=2e-3, rtol=0)  # one step at lr 1e-9 from the same start


def test_progress_is_added_to_an_init_model_starts_as_it_was_and_trains_on_each_items_length(tmp_path):
    train(TINY, tmp_path / "first", "cpu")
    first = SpritesVideoModel.from_pretrained(tmp_path / "first")
    config = TrainVideoConfig(**{**TINY.__dict__, "steps": 2, "init": str(tmp_path / "first"), "lr": 1e-2,
                                 "wan_overrides": {**TINY.wan_overrides, "progress_embedding": True}})
    train(config, tmp_path / "timed", "cpu")
    timed = SpritesVideoModel.from_pretrained(tmp_path / "timed")
    assert timed.transformer.config.progress_embedding
    assert timed.transformer.progress_embedding[2].weight.abs().sum() > 0  # it trained
    x, t = torch.randn(1, 48, 3, 16, 16), torch.full((1, 3), 500.0)
    states = first.text_encoder(["a red circle"])
    with torch.no_grad():
        flows = [timed.transformer(x, t, timed.transformer.encode_text(states, n), torch.arange(3, 6), None)
                 for n in (9, 40)]
    assert (flows[0] - flows[1]).abs().max() > 0  # the video's length now matters
    # continued without the flag, the model keeps its progress path
    train(dataclasses.replace(config, init=str(tmp_path / "timed"), wan_overrides=TINY.wan_overrides, steps=1),
          tmp_path / "again", "cpu")
    assert SpritesVideoModel.from_pretrained(tmp_path / "again").transformer.config.progress_embedding
    items = [sample_item(torch.Generator().manual_seed(s), TINY) for s in range(8)]
    assert all(TINY.sequence_frames + 3 <= int(item.video_frames) <= TINY.max_video_frames and item.positions.max() < item.video_frames
               for item in items)


def test_event_items_put_a_captioned_event_in_a_window_chunk_after_the_first():
    config = dataclasses.replace(TINY, event_share=1.0)
    window = config.context_chunks * 3
    g, placed = torch.Generator().manual_seed(8), 0
    for seed in range(60):
        length = 30 + 7 * seed
        scene = sample_scene(torch.Generator().manual_seed(seed), "train", num_frames=length)
        start = event_window_start(g, scene, length, config)
        if not scene.events:
            assert start is None
            continue
        if start is None:  # no event fits (e.g. one in the sink's first chunks)
            continue
        placed += 1
        assert start % 3 == 0 and 3 <= start <= length - window
        assert any(start + 3 <= e.frame < start + window for e in scene.events)
    assert placed >= 20
    # with the share at 0 nothing is drawn: the items are the ones older configs rendered
    a = sample_item(torch.Generator().manual_seed(3), dataclasses.replace(TINY, event_share=0.0))
    b = sample_item(torch.Generator().manual_seed(3), TINY)
    assert torch.equal(a.frames, b.frames) and torch.equal(a.positions, b.positions)
    with pytest.raises(ValueError, match="event_share"):
        dataclasses.replace(TINY, event_share=2.0)
    # the event band times the items' events: the world's own band renders the items older configs rendered,
    # a narrow one moves events (the same draws otherwise)
    moved = 0
    for seed in range(12):
        own = sample_item(torch.Generator().manual_seed(seed), dataclasses.replace(TINY, event_band=EVENT_BAND))
        plain = sample_item(torch.Generator().manual_seed(seed), TINY)
        timed = sample_item(torch.Generator().manual_seed(seed), dataclasses.replace(TINY, event_band=(0.5, 0.5)))
        assert torch.equal(own.frames, plain.frames)
        assert timed.caption == plain.caption and torch.equal(timed.positions, plain.positions)
        moved += not torch.equal(timed.frames, plain.frames)
    assert moved >= 1
    with pytest.raises(ValueError, match="event_band"):
        dataclasses.replace(TINY, event_band=(0.6, 0.4))


def test_training_timesteps_are_the_samplers_own():
    """Half the chunk timesteps are the 8 Euler steps the saved model samples with."""
    assert TINY.stream == SPRITES_STREAM
    schedule = warp_timesteps(SPRITES_STREAM.denoising_steps, 1000, SPRITES_STREAM.shift).float()
    t = sample_timesteps(4000, 1, TINY, torch.Generator().manual_seed(0), torch.device("cpu")).flatten()
    on_schedule = torch.isclose(t[:, None], schedule).any(-1)
    assert set(torch.unique(t[on_schedule]).round().tolist()) == set(schedule.round().tolist())
    low = (t[~on_schedule] < 400).float().mean()  # shift 2 keeps ~25 % of the uniform draws below sigma 0.4
    assert 0.2 < low < 0.3


def test_replay_pool_training_saves_an_x0_model(tmp_path):
    # misdrawn items too: their context and window frames travel through the pool beside the frames
    config = TrainVideoConfig(**{**TINY.__dict__, "steps": 3, "reuse": 2, "pool_items": 3, "misdrawn_share": 0.5,
                                 "misdrawn_window_share": 0.5,
                                 "wan_overrides": {**TINY.wan_overrides, "prediction": "x0"}})
    train(config, tmp_path, "cpu")
    model = SpritesVideoModel.from_pretrained(tmp_path)
    assert model.transformer.config.prediction == "x0"
    assert json.loads((tmp_path / "sprites_model.json").read_text())["training"]["steps_done"] == 3


def test_caption_dropout_trains_the_empty_caption_and_is_free_when_off():
    from streamt1.sprites.train import drop_captions

    model = SpritesVideoModel(sprites_wan_config(TEXT, **TINY.wan_overrides), TEXT)
    states = model.text_encoder(["a red circle", "a blue square"])
    null = model.text_encoder([""])
    g = torch.Generator().manual_seed(0)
    off = drop_captions(model, states, TINY, g)
    assert off is states and torch.equal(g.get_state(), torch.Generator().manual_seed(0).get_state())
    every = drop_captions(model, states, dataclasses.replace(TINY, caption_dropout=1.0), g)
    assert torch.equal(every, null.expand_as(states))
    some = drop_captions(model, states.repeat(50, 1, 1), dataclasses.replace(TINY, caption_dropout=0.3), g)
    dropped = (some == null).all(-1).all(-1).float().mean()
    assert 0.1 < dropped < 0.5
    with pytest.raises(ValueError, match="caption_dropout"):
        dataclasses.replace(TINY, caption_dropout=1.5)


def test_the_command_line_trains_with_misdrawn_window_chunks_and_rollout_contexts(tmp_path):
    from streamt1.sprites.train import main

    main(["--out", str(tmp_path), "--steps", "1", "--batch-size", "2", "--workers", "0", "--dim", "64",
          "--layers", "1", "--context-chunks", "1", "--first-chunk-copies", "1", "--misdrawn-window-share", "1",
          "--misdrawn-first-share", "0.5", "--rollout-share", "0.5"])
    saved = json.loads((tmp_path / "sprites_model.json").read_text())["training"]
    assert saved["steps_done"] == 1
    used = saved["train_config"]
    assert (used["misdrawn_window_share"], used["misdrawn_first_share"], used["rollout_share"]) == (1.0, 0.5, 0.5)
    with pytest.raises(ValueError, match="context_chunks"):
        main(["--out", str(tmp_path / "b"), "--context-chunks", "0", "--misdrawn-window-share", "0.5"])


@pytest.mark.parametrize("dim", [32, 100])
def test_a_width_the_heads_cannot_split_is_named_by_its_flag(tmp_path, dim):
    from streamt1.sprites.train import main

    with pytest.raises(ValueError, match=f"--dim {dim} does not suit the model's 8 heads .*: use e.g. 64, 128"):
        main(["--out", str(tmp_path), "--steps", "1", "--dim", str(dim)])
    assert not (tmp_path / "sprites_model.json").exists()


def test_an_init_that_is_some_other_file_is_named_as_such(tmp_path):
    from streamt1.sprites.train import main

    other = tmp_path / "notes.txt"
    other.write_text("not weights")
    with pytest.raises(FileNotFoundError, match="notes.txt is neither a folder nor a .safetensors file"):
        main(["--out", str(tmp_path / "out"), "--steps", "1", "--init", str(other)])


def test_a_stop_sent_to_the_process_group_saves_the_steps_done_without_a_traceback(tmp_path):
    # timeout, Slurm and a terminal's Ctrl-C signal the whole group, the loader's workers too
    import signal
    import subprocess
    import sys

    out = tmp_path / "run"
    run = subprocess.Popen(
        [sys.executable, "-m", "streamt1", "sprites", "train", "--out", str(out), "--steps", "40",  # logs every 2
         "--batch-size", "2", "--workers", "2", "--device", "cpu"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = ""
    while "step 2/40" not in seen:  # two steps done: the workers render
        line = run.stderr.readline()
        assert line, seen  # the run ended by itself
        seen += line
    os.killpg(run.pid, signal.SIGTERM)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 143, stderr
    assert "Traceback" not in stderr and "streamt1: terminated; `sprites train` saves the steps done" in stderr
    card = json.loads((out / "sprites_model.json").read_text())
    assert card["training"]["steps_done"] >= 2
    SpritesVideoModel.from_pretrained(out)


def test_the_save_after_a_stop_is_not_cut_short_by_the_next_stop():
    # `timeout` sends SIGTERM to the process, then to its group: the second lands while the first one's save runs
    import signal

    from streamt1.sprites.training import stops_held

    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    with stops_held():
        os.kill(os.getpid(), signal.SIGTERM)  # would end the test process under the default handler
        os.kill(os.getpid(), signal.SIGINT)  # would raise KeyboardInterrupt here
        saved = True
    assert saved and (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    with pytest.raises(KeyboardInterrupt):  # a stop after the save is a stop again
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)


def test_a_bad_setting_is_named_by_the_flag_that_set_it(tmp_path, capsys):
    from streamt1.cli import main as cli

    assert cli(["sprites", "train", "--out", str(tmp_path), "--straight-speeds", "3", "2"]) == 2
    assert "streamt1: error: --straight-speeds (3.0, 2.0) must be (low, high)" in capsys.readouterr().err
    assert cli(["sprites", "train", "--out", str(tmp_path), "--event-band", "0.6", "0.4"]) == 2
    assert "streamt1: error: --event-band (0.6, 0.4) must be (low, high)" in capsys.readouterr().err
    assert cli(["sprites", "train", "--out", str(tmp_path), "--lr", "nan"]) == 2
    assert "streamt1: error: --lr nan must be a finite number" in capsys.readouterr().err
    assert cli(["sprites", "train", "--out", str(tmp_path), "--resume-weight", "8"]) == 2  # the flag typed, not its partner
    assert "streamt1: error: --resume-weight 8.0 has nothing to act on without paused items" in capsys.readouterr().err
    # every Sprites trainer's command line names its settings so
    assert cli(["sprites", "train-rewards", "--out", str(tmp_path), "--steps", "0"]) == 2
    assert "streamt1: error: --steps 0 must be >= 1" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # refused before anything is written


def test_the_help_shows_each_settings_default_zero_included(capsys):
    from streamt1.cli import main as cli

    with pytest.raises(SystemExit):
        cli(["sprites", "train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "until a random chunk (those frames: context only) (default: 0.0)" in text  # --paused-share
    assert "train on a pool of recent items) (default: 1)" in text  # --reuse
    assert "(default: None)" not in text and "(default: False)" not in text  # unset and off flags say nothing
