import dataclasses
import json
import math

import pytest
import torch

from streamt1.metrics.sprites import shape_accuracy, track_sprite
from streamt1.models.sampler import sample_steps, warp_timesteps
from streamt1.sprites import own_states
from streamt1.sprites.model import SPRITES_STREAM, SpritesVideoModel, sprites_wan_config
from streamt1.sprites.own_states import (OWN_SIGMAS, OwnFirstChunks, OwnRollouts, blob_centres, drawn_centres,
                                         own_first_chunks, own_rollouts, repaired, sprite_tracks)
from streamt1.sprites.text import TextEncoderConfig
from streamt1.sprites.train import (TrainVideoConfig, main, misdrawn, own_first_loss, own_window_loss,
                                   predict_flow)
from streamt1.sprites.world import DIRECTIONS, EVENT_BAND, render_at, render_backgrounds, sample_scene, sprite_placements

TEXT = TextEncoderConfig(text_dim=16, num_layers=1, num_heads=2)
WAN = dict(dim=32, ffn_dim=64, num_heads=2, num_layers=1)


def disc(cx: float, cy: float, r: float, size: int = 64) -> torch.Tensor:
    g = (torch.arange(size) + 0.5) / size
    du = torch.remainder(g[None, :] - cx + 0.5, 1.0) - 0.5
    dv = torch.remainder(g[:, None] - cy + 0.5, 1.0) - 0.5
    return ((du * du + dv * dv) < r * r).float()


def test_blob_centres_find_the_larger_copy_of_a_sprite_drawn_twice_also_across_the_edge():
    mask = torch.stack([disc(0.3, 0.6, 0.1) + disc(0.75, 0.2, 0.06),  # a copy and a smaller one
                        disc(0.99, 0.5, 0.1)])  # wraps round the left and right edges
    x, y = blob_centres(mask, torch.tensor([0.1, 0.1]))
    assert abs(x[0] - 0.3) < 0.01 and abs(y[0] - 0.6) < 0.01  # the centroid of both would be near (0.47, 0.45)
    assert min(abs(x[1] - 0.99), 1 - abs(x[1] - 0.99)) < 0.01 and abs(y[1] - 0.5) < 0.01


def test_render_at_puts_sprites_at_given_centres_or_their_own():
    scene = sample_scene(torch.Generator().manual_seed(3), "train", num_frames=30)
    t = torch.arange(3)
    torch.testing.assert_close(render_at(scene, t, centres=[None] * len(scene.all_sprites)), render_at(scene, t))
    with pytest.raises(ValueError, match="one entry per sprite"):
        render_at(scene, t, centres=[None] * (len(scene.all_sprites) + 1))


def test_repaired_frames_draw_the_captioned_shapes_where_the_drawing_put_the_sprites():
    checked = 0
    for seed in range(6):
        scene = sample_scene(torch.Generator().manual_seed(seed), "train", num_frames=30)
        t = torch.arange(3)
        moved = [(torch.remainder(cx + 0.2, 1.0), torch.remainder(cy + 0.1, 1.0))
                 for _, cx, cy, _, _ in sprite_placements(scene, t)]
        # the model's drawing: every sprite elsewhere and another shape, some a size smaller
        drawn = render_at(misdrawn(scene, torch.Generator().manual_seed(seed)), t, centres=moved)
        fixed = repaired(drawn, scene, t)
        for sprite, (mx, my), (_, _, _, _, opacity) in zip(scene.all_sprites, moved, sprite_placements(scene, t)):
            if not bool(opacity.gt(0).all() and track_sprite(drawn, sprite).detected.all()):
                continue  # a misdrawn sprite too small for the metrics stays at the scene's own place
            checked += 1
            found = track_sprite(fixed, sprite)
            assert shape_accuracy(found, sprite.shape) > 0.6, (seed, sprite)  # overlaps may hide a frame's outline
            off = torch.remainder(found.cx - mx + 0.5, 1.0) - 0.5
            assert float(off.abs().max()) < 2.5 / 64, (seed, sprite, off)
    assert checked >= 6


def tiny_model(text: TextEncoderConfig = TEXT, **wan) -> SpritesVideoModel:
    stream = dataclasses.replace(SPRITES_STREAM, guidance_scale=3.0, guided_chunks=1)
    model = SpritesVideoModel(sprites_wan_config(text, **(wan or WAN)), text, stream).eval()
    model.transformer.init_weights(torch.Generator().manual_seed(0))
    return model


def test_own_first_chunks_keep_sampler_states_in_the_band_and_are_seeded():
    model = tiny_model()
    own = own_first_chunks(model, 3, (27, 48), torch.Generator().manual_seed(1), states_per_chunk=2, batch_size=2)
    assert own.states.shape == (3, 2, 48, 3, 16, 16) and own.targets.shape == (3, 48, 3, 16, 16)
    assert own.sigmas.shape == (3, 2) and len(own.captions) == 3 and own.video_frames.shape == (3,)
    assert bool(((own.sigmas >= OWN_SIGMAS[0]) & (own.sigmas <= OWN_SIGMAS[1])).all())
    assert bool((own.sigmas[:, 0] != own.sigmas[:, 1]).all())  # two different steps of each chunk
    assert bool(((own.video_frames >= 27) & (own.video_frames <= 48)).all())
    again = own_first_chunks(model, 3, (27, 48), torch.Generator().manual_seed(1), states_per_chunk=2, batch_size=3)
    assert again.captions == own.captions  # the batch size changes nothing
    torch.testing.assert_close(again.states, own.states)
    torch.testing.assert_close(again.targets, own.targets)
    x_t, sigma, target, frames, captions = own.draw(5, torch.Generator().manual_seed(0))
    assert x_t.shape == (5, 48, 3, 16, 16) and sigma.shape == (5,) and len(captions) == 5
    with pytest.raises(ValueError, match="states_per_chunk"):
        own_first_chunks(model, 1, (27, 48), torch.Generator(), states_per_chunk=99)


def test_training_on_own_first_chunks_needs_an_init_model_and_runs_from_the_command_line(tmp_path):
    with pytest.raises(ValueError, match="own_first_share"):
        TrainVideoConfig(own_first_share=0.5)
    with pytest.raises(ValueError, match="own_first_share"):
        TrainVideoConfig(own_first_share=0.5, init="x", first_chunk_copies=0)
    with pytest.raises(ValueError, match="own_first_share"):
        TrainVideoConfig(own_first_share=1.5, init="x")
    tiny_model(TextEncoderConfig(), dim=64, ffn_dim=256, num_layers=1).save_pretrained(tmp_path / "start")
    main(["--out", str(tmp_path / "out"), "--steps", "1", "--batch-size", "2", "--workers", "0",
          "--context-chunks", "1", "--dim", "64", "--layers", "1", "--first-chunk-copies", "1",
          "--init", str(tmp_path / "start"),
          "--own-first-share", "0.5", "--own-first-scenes", "2"])
    used = json.loads((tmp_path / "out" / "sprites_model.json").read_text())["training"]
    assert used["steps_done"] == 1 and not math.isnan(used["history"][-1]["loss"])
    assert (used["train_config"]["own_first_share"], used["train_config"]["own_first_scenes"]) == (0.5, 2)


def test_the_redrawn_sprites_start_where_a_still_drawing_put_them_and_move_as_the_caption_says():
    moving = 0
    for seed in range(8):
        scene = sample_scene(torch.Generator().manual_seed(seed), "train", num_frames=60)
        t = torch.tensor([0, 16, 32])  # one second apart
        still = render_at(scene, torch.zeros(3))  # the model's first chunk: every sprite stands still
        placed = sprite_placements(scene, t)
        centres = drawn_centres(sprite_tracks(still, scene, t), scene, t)
        for centre, (sprite, cx, cy, _, opacity) in zip(centres, placed):
            if not bool(opacity.gt(0).all() and track_sprite(still, sprite).detected.all()):
                continue
            for drawn, own in zip(centre, (cx, cy)):
                start = torch.remainder(drawn[0] - own[0] + 0.5, 1.0) - 0.5  # the still drawing is the scene at 0
                assert abs(float(start)) < 2.5 / 64, (seed, sprite, start)  # colour tracking, as the metrics
                step = torch.remainder(drawn - drawn[0] - (own - own[0]) + 0.5, 1.0) - 0.5
                assert float(step.abs().max()) < 1e-5, (seed, sprite, step)
            moving += sprite.motion not in ("grow", "shrink")
    assert moving >= 4


def test_own_rollouts_stream_each_chunk_after_the_models_own_earlier_ones():
    model = tiny_model(progress_embedding=True, **WAN)  # told the video's length, as the committed weights are
    g = torch.Generator().manual_seed(2)
    for weight in model.transformer.parameters():  # Wan's zero-initialised outputs would ignore the past
        weight.data.add_(0.2 * torch.randn(weight.shape, generator=g))
    config = dataclasses.replace(TrainVideoConfig(text=TEXT, wan_overrides=WAN), attention="sdpa")
    own = own_rollouts(model, 3, 15, (27, 48), torch.Generator().manual_seed(1), batch_size=2)
    assert own.context.shape == own.states.shape == own.targets.shape == (3, 48, 15, 16, 16)
    assert own.sigmas.shape == (3, 5) and len(own.captions) == 3
    assert bool(((own.sigmas >= OWN_SIGMAS[0]) & (own.sigmas <= OWN_SIGMAS[1])).all())
    # Each later chunk was streamed after the clean frames the rollout keeps: from its kept state, the
    # sampler's remaining steps with teacher forcing's flow after those frames (what own_window_loss
    # trains) end at the chunk the rollout kept, also once chunks have left the window.
    stream, n_train = model.stream, SPRITES_STREAM.num_train_timesteps
    schedule = warp_timesteps(stream.denoising_steps, n_train, stream.shift)
    positions = torch.arange(15).repeat(3, 1)
    for k in range(1, 5):  # the last one after chunk 1 has left the window
        start, end = 3 * k, 3 * k + 3
        for item in range(3):
            step = int((schedule / n_train - own.sigmas[item, k]).abs().argmin())
            context = own.context[item:item + 1].float()
            text = model.transformer.encode_text(model.text_encoder(own.captions[item:item + 1]),
                                                 own.video_frames[item:item + 1])

            def flow(x, t):
                x_t = context.clone()
                x_t[:, :, start:end] = x
                steps = torch.zeros(1, 15)
                steps[:, start:end] = float(t)
                return predict_flow(model, context, x_t, steps, text, positions[:1], config)[:, :, start:end]

            x0, _ = sample_steps(flow, own.states[item:item + 1, :, start:end].float(), schedule, n_train,
                                 None, stream.sampler, step, len(schedule), 0.0)
            torch.testing.assert_close(x0, context[:, :, start:end], atol=1e-4, rtol=1e-4)
    # the same rollouts whatever the batch size (each item's noise and picks come from its own generator)
    again = own_rollouts(model, 3, 15, (27, 48), torch.Generator().manual_seed(1), batch_size=3)
    torch.testing.assert_close(again.context, own.context)
    torch.testing.assert_close(again.states, own.states)
    # the redraw tracks blobs by colour: a drawing's rounding may move a tracked edge pixel, no more
    assert float(((again.targets - own.targets).abs() > 1e-3).float().mean()) < 0.01
    # the first chunk is drawn as own_first_chunks draws it, from the same noise
    first = own_first_chunks(model, 3, (27, 48), torch.Generator().manual_seed(1), states_per_chunk=2, batch_size=2)
    torch.testing.assert_close(own.targets[:, :, :3], first.targets)
    assert first.captions == own.captions
    # another band for the later chunks' kept states (the first chunk keeps OWN_SIGMAS')
    low = own_rollouts(model, 3, 9, (27, 48), torch.Generator().manual_seed(1), band=(0.2, 0.5))
    assert bool(((low.sigmas[:, 1:] >= 0.2) & (low.sigmas[:, 1:] <= 0.5)).all())
    torch.testing.assert_close(low.sigmas[:, 0], own.sigmas[:, 0])
    with pytest.raises(ValueError, match="no step with sigma"):
        own_rollouts(model, 1, 9, (27, 48), torch.Generator(), band=(0.96, 0.99))
    with pytest.raises(ValueError, match="whole chunks"):
        own_rollouts(model, 1, 4, (27, 48), torch.Generator())
    every = SpritesVideoModel(sprites_wan_config(TEXT, **WAN), TEXT,
                              dataclasses.replace(SPRITES_STREAM, guidance_scale=3.0, guided_chunks=0))
    with pytest.raises(ValueError, match="unguided"):
        own_rollouts(every, 1, 9, (27, 48), torch.Generator())


def test_training_on_own_rollouts_needs_an_init_model_with_context_and_runs_from_the_command_line(tmp_path, monkeypatch):
    bands = []

    def recording(*args, band, anchor, **kwargs):
        bands.append((band, anchor))
        return own_rollouts(*args, band=band, anchor=anchor, **kwargs)

    monkeypatch.setattr("streamt1.sprites.train.own_rollouts", recording)
    with pytest.raises(ValueError, match="own_window_share"):
        TrainVideoConfig(own_window_share=0.5)
    with pytest.raises(ValueError, match="own_window_share"):
        TrainVideoConfig(own_window_share=0.5, init="x", context_chunks=0)
    tiny_model(TextEncoderConfig(), dim=64, ffn_dim=256, num_layers=1).save_pretrained(tmp_path / "start")
    main(["--out", str(tmp_path / "out"), "--steps", "1", "--batch-size", "2", "--workers", "0",
          "--context-chunks", "1", "--dim", "64", "--layers", "1", "--first-chunk-copies", "1",
          "--init", str(tmp_path / "start"), "--own-window-share", "0.5", "--own-window-scenes", "2",
          "--own-window-frames", "12", "--own-window-sigmas", "0.2", "0.95", "--own-window-anchor", "context"])  # longer than the sequence's 6 frames
    used = json.loads((tmp_path / "out" / "sprites_model.json").read_text())["training"]
    assert used["steps_done"] == 1 and not math.isnan(used["history"][-1]["loss"])
    config = used["train_config"]
    assert (config["own_window_share"], config["own_window_scenes"], config["own_window_frames"]) == (0.5, 2, 12)
    assert config["own_window_sigmas"] == [0.2, 0.95] and config["own_window_anchor"] == "context"
    assert bands == [((0.2, 0.95), "context")]  # the band and anchor the rollouts were drawn with
    with pytest.raises(ValueError, match="no step with sigma"):  # refused before anything is drawn
        main(["--out", str(tmp_path / "out2"), "--steps", "1", "--batch-size", "2", "--workers", "0",
              "--context-chunks", "1", "--dim", "64", "--layers", "1", "--first-chunk-copies", "1",
              "--init", str(tmp_path / "start"), "--own-window-share", "0.5", "--own-window-sigmas", "0.96", "0.99"])
    assert len(bands) == 1
    with pytest.raises(ValueError, match="own_window_sigmas"):
        TrainVideoConfig(own_window_sigmas=(0.6, 0.5))
    with pytest.raises(ValueError, match="own_window_frames"):
        TrainVideoConfig(own_window_frames=10)
    with pytest.raises(ValueError, match="own_window_anchor"):
        TrainVideoConfig(own_window_anchor="frame")


def test_drawn_centres_restart_per_chunk_where_the_chunk_shows_the_sprite_and_go_on_where_it_does_not():
    t = torch.arange(9)
    shifts = torch.tensor([0.2] * 3 + [0.5] * 3 + [0.7] * 3)  # the drawing puts the sprite elsewhere per chunk
    checked = 0
    for seed in range(10):
        scene = sample_scene(torch.Generator().manual_seed(seed), "train", num_frames=60)
        sprite, cx, cy, _, opacity = next(iter(sprite_placements(scene, t)))
        others = [None] * (len(scene.all_sprites) - 1)
        drawn = render_at(scene, t, centres=[(torch.remainder(cx + shifts, 1.0), cy)] + others)
        drawn[3:6] = render_backgrounds(scene, t[3:6])  # chunk 1 shows no sprite
        found = track_sprite(drawn, sprite).detected
        if not bool(opacity.gt(0).all() and found[:3].all() and found[6:].all()):
            continue
        x, _ = drawn_centres(sprite_tracks(drawn, scene, t), scene, t, segment=3)[0]
        off = torch.remainder(x - cx - shifts + 0.5, 1.0) - 0.5
        assert float(off[:3].abs().max()) < 2.5 / 64 and float(off[6:].abs().max()) < 2.5 / 64, (seed, off)
        after = torch.remainder(x[3:6] - cx[3:6] - 0.2 + 0.5, 1.0) - 0.5  # chunk 0's path goes on
        assert float(after.abs().max()) < 2.5 / 64, (seed, after)
        # one segment: where the clip first shows it, then the path
        whole, _ = drawn_centres(sprite_tracks(drawn, scene, t), scene, t)[0]
        assert float((torch.remainder(whole - cx - 0.2 + 0.5, 1.0) - 0.5).abs().max()) < 2.5 / 64
        # anchored at the context: chunk 2 goes on from where chunk 0 last showed it, not from its own drawing
        context, _ = drawn_centres(sprite_tracks(drawn, scene, t), scene, t, segment=3, anchor="context")[0]
        assert float((torch.remainder(context - cx - 0.2 + 0.5, 1.0) - 0.5).abs().max()) < 2.5 / 64, (seed, context)
        # every chunk shown: each goes on from the last frame before it (chunk 2 from chunk 1's drawing)
        shown = render_at(scene, t, centres=[(torch.remainder(cx + shifts, 1.0), cy)] + others)
        if bool(track_sprite(shown, sprite).detected.all()):
            x, _ = drawn_centres(sprite_tracks(shown, scene, t), scene, t, segment=3, anchor="context")[0]
            off = torch.remainder(x - cx - torch.tensor([0.2] * 6 + [0.5] * 3) + 0.5, 1.0) - 0.5
            assert float(off.abs().max()) < 2.5 / 64, (seed, off)
        checked += 1
    assert checked >= 3
    with pytest.raises(ValueError, match="anchor"):
        drawn_centres(sprite_tracks(drawn, scene, t), scene, t, segment=3, anchor="frame")


def test_own_rollouts_redraw_every_item_from_the_anchor_asked_for(monkeypatch):
    anchors = []
    real = own_states.drawn_centres

    def recording(tracks, scene, t, segment=None, anchor="chunk"):
        anchors.append((segment, anchor))
        return real(tracks, scene, t, segment, anchor)

    monkeypatch.setattr(own_states, "drawn_centres", recording)
    own_rollouts(tiny_model(), 2, 6, (27, 48), torch.Generator().manual_seed(1), anchor="context")
    assert anchors == [(3, "context")] * 2  # once per item, per chunk
    with pytest.raises(ValueError, match="anchor"):  # before anything is drawn
        own_rollouts(tiny_model(), 1, 6, (27, 48), torch.Generator(), anchor="frame")
    assert len(anchors) == 2


def test_the_own_losses_vanish_for_the_flow_that_predicts_the_redrawn_chunks(monkeypatch):
    model = tiny_model()
    config = dataclasses.replace(TrainVideoConfig(text=TEXT, wan_overrides=WAN, context_chunks=2), attention="sdpa")
    g = torch.Generator().manual_seed(0)
    n, c = 4, 3
    sigmas = 0.55 + 0.4 * torch.rand(n, 2, generator=g)
    states = torch.randn(n, 2, 48, c, 16, 16, generator=g)
    zero = torch.zeros(n, 48, c, 16, 16)  # targets 0: the right flow is x_t / sigma
    first = OwnFirstChunks(states, sigmas, zero, torch.full((n,), 40), ["a red circle"] * n, 1.0)

    def exact(x, t, *args, **kwargs):  # the x0 prediction x - sigma * flow is 0 wherever t > 0
        sigma = (t / 1000)[:, None, :, None, None]
        return torch.where(sigma > 0, x / sigma.clamp(min=1e-6), torch.zeros_like(x))

    monkeypatch.setattr(model.transformer, "forward", exact)
    assert float(own_first_loss(model, first, 5, config, g)) < 1e-10
    f = 3 * c
    window = OwnRollouts(torch.randn(n, 48, f, 16, 16, generator=g), torch.randn(n, 48, f, 16, 16, generator=g),
                         0.55 + 0.4 * torch.rand(n, 3, generator=g), torch.zeros(n, 48, f, 16, 16),
                         torch.full((n,), 40), ["a red circle"] * n, 1.0)
    assert float(own_window_loss(model, window, 5, config, g)) < 1e-10
    # a flow off by one sigma step is not
    monkeypatch.setattr(model.transformer, "forward", lambda x, t, *a, **k: exact(x, t * 0.9))
    assert float(own_first_loss(model, first, 5, config, g)) > 1e-3
    assert float(own_window_loss(model, window, 5, config, g)) > 1e-3


def test_own_chunks_draw_their_scenes_straight_moves_at_straight_speeds_and_events_in_the_event_band():
    own = own_states._draws(12, (12, 30), torch.Generator().manual_seed(5), (1.0, 1.0), EVENT_BAND)
    fast = own_states._draws(12, (12, 30), torch.Generator().manual_seed(5), (2.0, 2.0), EVENT_BAND)
    assert fast.captions == own.captions and torch.equal(fast.lengths, own.lengths)  # one speed draws nothing
    pairs = [(a, b) for x, y in zip(own.scenes, fast.scenes) for a, b in zip(x.all_sprites, y.all_sprites)]
    straight = [(a, b) for a, b in pairs if a.motion in DIRECTIONS]
    assert straight and all(b.speed == pytest.approx(2 * a.speed) for a, b in straight)
    assert all(a == b for a, b in pairs if a.motion not in DIRECTIONS)
    timed = own_states._draws(12, (12, 30), torch.Generator().manual_seed(5), (1.0, 1.0), (0.5, 0.5))
    assert timed.captions == own.captions
    events = [(len(s.events), i, e.frame, int(length)) for s, length in zip(timed.scenes, timed.lengths)
              for i, e in enumerate(s.events)]
    assert events and all(frame == int(0.2 * n + 0.7 * n / count * (i + 0.5)) for count, i, frame, n in events)
