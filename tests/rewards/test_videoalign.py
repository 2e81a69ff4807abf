"""VideoAlign from its released layout: LoRA merged at load equals the unmerged PEFT model on the
authors' video-file path; sampling, sizes, token counts, batching and every error."""

import json
import shutil

import av
import numpy as np
import pytest
import torch

from streamt1.config import ConfigError
from streamt1.interfaces import PlannedVideoReward, VideoReward
from streamt1.rewards import qwen2vl as q
from streamt1.rewards import videoalign

from clip_fixtures import assert_missing_file_message
from qwen_fixtures import QWEN2VL_CHAT_TEMPLATE, STEP, VIDEOALIGN_NORM, authors_hidden_states

PROMPTS = ["a red ball bounces on a blue floor", "a cat walks", "a wide shot of a blue floor, film grain"]
FPS = 16.0


def _clips(n=2, frames=17, height=60, width=104, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, frames, 3, height, width), dtype=torch.uint8, generator=gen)


def write_lossless_video(clip, path):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=int(FPS))
        stream.pix_fmt, stream.height, stream.width = "bgr0", clip.shape[-2], clip.shape[-1]
        for frame in clip:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame.permute(1, 2, 0).numpy(), format="rgb24")))
        container.mux(stream.encode())


def authors_video_frames(path, max_pixels=200704):
    """vision_process.fetch_video on a file: read all frames (decord's role), smart_nframes at 2 fps,
    linspace().round() indices, torchvision resize(BICUBIC, antialias=True) of the uint8 TCHW tensor, .float()."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        video_fps = float(stream.average_rate)
        video = torch.from_numpy(np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)]))
    video = video.permute(0, 3, 1, 2)  # TCHW uint8
    idx = torch.linspace(0, len(video) - 1, q.frames_per_clip(len(video), video_fps, 2.0)).round().long()
    video = video[idx]
    size = q.smart_resize(video.shape[2], video.shape[3], 28, q.VIDEO_MIN_PIXELS, max_pixels)
    resized = torch.nn.functional.interpolate(video.float(), size=size, mode="bicubic", align_corners=False,
                                              antialias=True)
    return resized.clamp(0, 255).round().to(torch.uint8).float()  # torchvision's uint8 round trip, then .float()


def authors_inputs(release, clips, prompts, tmp_path, vision):
    frames = []
    for i, clip in enumerate(clips):
        write_lossless_video(clip, tmp_path / f"{i}.mkv")
        frames.append(authors_video_frames(tmp_path / f"{i}.mkv"))
    patches = [q.patchify(f.to(torch.uint8), vision) for f in frames]  # layout tested in test_qwen2vl.py
    messages = [[{"role": "user", "content": [
        {"type": "video", "video": f"file://{tmp_path}/{i}.mkv", "max_pixels": 200704, "fps": 2.0,
         "sample_type": "uniform"},
        {"type": "text", "text": videoalign.DETAILED_PROMPT_WITH_SPECIAL_TOKEN.format(text_prompt=p)}]}]
        for i, p in enumerate(prompts)]
    tok = release.tokenizer
    texts = tok.apply_chat_template(messages, chat_template=QWEN2VL_CHAT_TEMPLATE, tokenize=False,
                                    add_generation_prompt=True)
    texts = [t.replace("<|video_pad|>", "<|video_pad|>" * (int(g.prod()) // 4)) for t, (_, g) in zip(texts, patches)]
    tok.padding_side = "right"
    text = tok(texts, padding=True, return_tensors="pt")
    return (text["input_ids"], text["attention_mask"], torch.cat([p for p, _ in patches]),
            torch.stack([g for _, g in patches]))


def authors_scores(release, ids, mask, pixels, grid):
    """trainer.py's forward on the PEFT-wrapped model (LoRA unmerged), then inference.py's normalisation."""
    model = release.model.base_model.model
    with torch.no_grad():
        hidden = authors_hidden_states(model, ids, mask, pixels, grid,
                                       release.tokenizer.convert_tokens_to_ids("<|video_pad|>"))
        logits = model.rm_head(hidden)  # [B, L, 1]
    special = torch.zeros_like(ids, dtype=torch.bool)
    for token in videoalign.READ_TOKENS:
        special |= ids == release.tokenizer.convert_tokens_to_ids(token)
    raw = logits[special].view(len(ids), 3)
    means = torch.tensor([VIDEOALIGN_NORM[f"{p}_mean"] for p in videoalign.PARTS])
    stds = torch.tensor([VIDEOALIGN_NORM[f"{p}_std"] for p in videoalign.PARTS])
    return (raw - means) / stds


def test_merged_lora_scores_equal_the_unmerged_peft_model_on_the_file_path(videoalign_release, videoalign_reward,
                                                                            tmp_path):
    clips, prompts = _clips(), PROMPTS[:2]
    ids, mask, pixels, grid = authors_inputs(videoalign_release, clips, prompts, tmp_path, videoalign_reward.vision)
    batch = videoalign_reward.preprocess(clips, prompts, FPS)
    assert torch.equal(batch.input_ids, ids) and torch.equal(batch.attention_mask, mask)
    assert torch.equal(batch.pixel_values, pixels) and torch.equal(batch.grid_thw, grid)
    assert grid.tolist() == [[2, 18, 30]] * 2  # 17 frames at 16 fps -> 4 frames; 60x104 -> 252x420
    expected = authors_scores(videoalign_release, ids, mask, pixels, grid)
    score = videoalign_reward(clips, prompts, FPS)
    assert isinstance(videoalign_reward, VideoReward)
    parts = torch.stack([score.parts[p] for p in videoalign.PARTS], dim=1)
    torch.testing.assert_close(parts, expected, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(score.overall, expected.sum(1), rtol=1e-4, atol=1e-4)  # the parts' tolerance
    assert (parts[0] - parts[1]).abs().max() > 0.05  # the clips are told apart
    with videoalign_release.model.disable_adapter():  # and the LoRA matters
        without_lora = authors_scores(videoalign_release, ids, mask, pixels, grid)
    assert (without_lora - parts).abs().max() > 0.05


def test_the_highest_checkpoint_step_is_loaded(videoalign_release):
    assert videoalign.latest_checkpoint(videoalign_release.path).name == f"checkpoint-{STEP}"


def test_batches_score_like_single_clips(videoalign_reward):
    clips = _clips(n=3, frames=9, seed=1)
    batched = videoalign_reward(clips, PROMPTS, FPS)  # max_batch=2: a padded pair, then one
    singles = [videoalign_reward(clips[i:i + 1], PROMPTS[i:i + 1], FPS) for i in range(3)]
    torch.testing.assert_close(batched.overall, torch.cat([s.overall for s in singles]), rtol=1e-5, atol=1e-5)
    for part in videoalign.PARTS:
        torch.testing.assert_close(batched.parts[part], torch.cat([s.parts[part] for s in singles]),
                                   rtol=1e-5, atol=1e-5)


def test_81_frames_at_16_fps_give_10_frames_of_336x588(videoalign_reward):
    clip = torch.arange(81, dtype=torch.uint8).view(81, 1, 1, 1).expand(81, 3, 480, 832)  # frame i holds value i
    sampled = videoalign_reward.sample(clip, FPS)
    assert sampled.shape == (10, 3, 336, 588)
    assert sampled[:, 0, 0, 0].tolist() == [0, 9, 18, 27, 36, 44, 53, 62, 71, 80]
    batch = videoalign_reward.preprocess(clip[None], ["x"], FPS)
    assert batch.grid_thw.tolist() == [[5, 24, 42]]
    assert int((batch.input_ids == videoalign_reward.prompt.media_token_id).sum()) == 1260


def test_the_frame_plan_is_exactly_the_frames_read(videoalign_reward):
    clips = _clips(n=2, frames=33, seed=3)
    plan = videoalign_reward.frame_plan(33, FPS)
    assert isinstance(videoalign_reward, PlannedVideoReward) and torch.equal(plan, videoalign.frame_plan(
        33, FPS, videoalign_reward.settings)) and len(plan) < 33
    unread = torch.ones(33, dtype=torch.bool)
    unread[plan] = False
    garbage = clips.clone()
    garbage[:, unread] = _clips(n=2, frames=int(unread.sum()), seed=4)
    score = videoalign_reward(clips, PROMPTS[:2], FPS)
    assert torch.equal(videoalign_reward(garbage, PROMPTS[:2], FPS).overall, score.overall)
    planned = videoalign_reward.score_planned(clips[:, plan], PROMPTS[:2], FPS)
    assert all(torch.equal(planned.parts[p], score.parts[p]) for p in videoalign.PARTS)
    read = clips.clone()
    read[:, plan[0]] = 255 - read[:, plan[0]]
    assert not torch.equal(videoalign_reward(read, PROMPTS[:2], FPS).overall, score.overall)


def test_float_clips_score_as_their_rounded_uint8(videoalign_reward):
    clip = _clips(n=1, frames=4, seed=2)
    as_float = (clip.float() + torch.rand(clip.shape) - 0.5).clamp(0, 255) / 255
    rounded = (as_float * 255).round().to(torch.uint8)
    assert torch.equal(videoalign_reward.preprocess(as_float, ["x"], FPS).pixel_values,
                       videoalign_reward.preprocess(rounded, ["x"], FPS).pixel_values)


def test_a_clip_too_short_is_refused(videoalign_reward):
    with pytest.raises(ConfigError, match="1 frame.*at least 2 frames"):
        videoalign_reward(_clips(n=1, frames=1), ["x"], FPS)
    with pytest.raises(ConfigError, match=r"\[B, T, 3, H, W\]"):
        videoalign_reward(_clips(n=1)[0], ["x"], FPS)
    with pytest.raises(ConfigError, match="fps"):
        videoalign_reward(_clips(n=1), ["x"], 0.0)
    with pytest.raises(ConfigError, match="fps"):
        videoalign_reward.frame_plan(17, 0.0)
    with pytest.raises(ConfigError, match="2 clips but 1 prompts"):
        videoalign_reward.score_planned(_clips(n=2, frames=4), ["x"], FPS)


def _copy(release, tmp_path):
    return shutil.copytree(release.path, tmp_path / "videoalign")


@pytest.mark.parametrize("relative", [f"checkpoint-{STEP}/model.pth", f"checkpoint-{STEP}/tokenizer/tokenizer.json"])
def test_a_file_missing_from_the_latest_checkpoint_is_named(videoalign_release, tmp_path, relative):
    """An older checkpoint folder satisfies the registry's glob; the loader still names the latest one's file."""
    folder = _copy(videoalign_release, tmp_path)
    (folder / relative).unlink()
    with pytest.raises(FileNotFoundError) as info:
        videoalign.load(folder)
    assert_missing_file_message(info.value, relative, videoalign.ENTRY, folder)


def test_no_checkpoint_folder_is_named(videoalign_release, tmp_path):
    folder = _copy(videoalign_release, tmp_path)
    for step_dir in folder.glob("checkpoint-*"):
        shutil.rmtree(step_dir)
    with pytest.raises(FileNotFoundError, match=r"checkpoint-\*/model.pth, checkpoint-\*/tokenizer/tokenizer.json, "
                                                r"checkpoint-\*/tokenizer/tokenizer_config.json: not found"):
        videoalign.load(folder)


def _rewrite_checkpoint(folder, edit):
    path = folder / f"checkpoint-{STEP}" / "model.pth"
    state = torch.load(path, weights_only=True)
    edit(state)
    torch.save(state, path)


def test_broken_lora_and_head_shapes_are_listed(videoalign_release, tmp_path):
    folder = _copy(videoalign_release, tmp_path)
    lora_b = next(k for k in torch.load(folder / f"checkpoint-{STEP}" / "model.pth", weights_only=True)
                  if "lora_B" in k)
    _rewrite_checkpoint(folder, lambda s: s.pop(lora_b))
    with pytest.raises(ConfigError, match="LoRA modules without both lora_A and lora_B"):
        videoalign.load(folder)
    folder = shutil.copytree(videoalign_release.path, tmp_path / "second")
    _rewrite_checkpoint(folder, lambda s: s.update({"base_model.model.rm_head.weight": torch.zeros(3, 64)}))
    with pytest.raises(ConfigError, match=r"1 mis-shaped \(rm_head.weight: file \(3, 64\) vs model \(1, 64\)\)"):
        videoalign.load(folder)


def test_an_unsupported_training_config_is_refused(videoalign_release, tmp_path):
    folder = _copy(videoalign_release, tmp_path)
    config = json.loads((folder / videoalign.CONFIG_FILE).read_text())
    config["data_config"]["prompt_template_type"] = "simple"
    (folder / videoalign.CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="prompt_template_type='simple' is not supported"):
        videoalign.load(folder)


def test_a_checkpoint_with_pickled_objects_is_not_unpickled(videoalign_release, tmp_path):
    folder = _copy(videoalign_release, tmp_path)
    _rewrite_checkpoint(folder, lambda s: s.update({"extra": ValueError("arbitrary object")}))
    with pytest.raises(ConfigError, match="weights_only=True"):
        videoalign.load(folder)
