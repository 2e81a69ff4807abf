"""The reward and backend registries: names, kinds, files checked before loading, the Python API."""

from __future__ import annotations

import importlib
import shutil

import clip_fixtures
import pytest
import torch
from clip_fixtures import assert_missing_file_message

from streamt1 import backends
from streamt1.config import ConfigError, build_config
from streamt1.interfaces import ImageReward, VideoReward, VideoScore
from streamt1.rewards import (
    REWARDS,
    check_files,
    check_max_batch,
    get_reward,
    load_image_reward,
    load_video_reward,
    one_line,
    parse_spec,
    read_weights,
    reward_names,
)
from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR, SpritesImageReward, SpritesVideoReward

PROMPT = "a small red circle moves left over a blue background"
REAL = ("hpsv3", "videoalign", "pickscore", "hpsv2", "imagereward")


def test_every_reward_is_registered_with_its_facts():
    sprites = {"sprites-image", "sprites-video", "sprites-track-image", "sprites-track-video"}
    assert set(REAL) | sprites == set(REWARDS)
    assert {REWARDS[n].kind for n in ("hpsv3", "pickscore", "hpsv2", "imagereward", "sprites-image",
                                      "sprites-track-image")} == {"image"}
    assert {REWARDS[n].kind for n in ("videoalign", "sprites-video", "sprites-track-video")} == {"video"}
    assert (REWARDS["hpsv3"].folder, REWARDS["videoalign"].folder) == ("HPSv3", "VideoReward")
    for entry in REWARDS.values():
        module, _, function = entry.loader.partition(":")
        assert module.startswith("streamt1.rewards.") and function
        assert entry.required and entry.tree and entry.published and entry.license
    assert "MizzenAI/HPSv3" in REWARDS["hpsv3"].published[0]
    assert "KlingTeam/VideoReward" in REWARDS["videoalign"].published[0]
    assert reward_names("video") == ("videoalign", "sprites-video", "sprites-track-video")


@pytest.mark.parametrize("name", REAL)
def test_each_reward_module_reads_its_facts_from_the_registry(name):
    """One record of a reward's files, tree, source and licence: the module's ENTRY is the registry's."""
    module, entry = importlib.import_module(f"streamt1.rewards.{name}"), REWARDS[name]
    assert module.ENTRY is entry
    assert entry.loader == f"streamt1.rewards.{name}:load" and callable(module.load)


def test_weight_files_that_are_not_state_dicts_are_config_errors_naming_the_reward(tmp_path):
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    with pytest.raises(ConfigError, match="demo: .*list.pt: holds a list, not a state dict"):
        read_weights(tmp_path / "list.pt", "demo")
    for wrapper in ("state_dict", "model"):  # the CLIP-family and the Qwen2-VL releases' containers
        torch.save({wrapper: {"w": torch.ones(2)}}, tmp_path / "wrapped.pt")
        assert torch.equal(read_weights(tmp_path / "wrapped.pt", "demo")["w"], torch.ones(2))
    torch.save({"w": ConfigError}, tmp_path / "pickled.pt")  # a Python object: refused by weights_only=True
    with pytest.raises(ConfigError, match="demo: .*weights_only=True"):
        read_weights(tmp_path / "pickled.pt", "demo")


@pytest.mark.parametrize("value", [0, -1, 2.0])
def test_max_batch_must_be_a_positive_integer(value):
    with pytest.raises(ConfigError, match="max_batch"):
        check_max_batch(value)


def test_trees_fold_into_one_line():
    assert one_line("<folder>/\n  a.pt\n  b/\n    c.json\n    d/\n      e\n  f.json\n") == \
        "<folder>/{a.pt, b/{c.json, d/{e}}, f.json}"
    assert one_line("<folder>/{x, y/{z}}") == "<folder>/{x, y/{z}}"


def test_names_and_kinds_are_checked():
    with pytest.raises(ConfigError, match=r"unknown image reward 'hps'.*hpsv3, pickscore"):
        get_reward("hps", "image")
    with pytest.raises(ConfigError, match=r"'videoalign' is a video reward, not an image reward: pass it as "
                                          r"--video-reward videoalign"):
        get_reward("videoalign", "image")
    with pytest.raises(ConfigError, match="'hpsv3' is an image reward, not a video reward"):
        get_reward("hpsv3", "video")
    entry, path = parse_spec("hpsv3=/models/hps", "image")
    assert entry.name == "hpsv3" and str(path) == "/models/hps"
    assert parse_spec(" videoalign ", "video")[1] is None
    for bad in ("=x", "hpsv3=", ""):
        with pytest.raises(ConfigError, match="expected NAME or NAME=PATH"):
            parse_spec(bad, "image")


def test_missing_files_are_one_line_naming_file_reward_tree_and_source(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        check_files(REWARDS["videoalign"], tmp_path / "VideoReward")
    message = str(info.value)
    assert "\n" not in message
    for part in ("videoalign reward", "model_config.json, checkpoint-*/model.pth", ": not found",
                 f"place it at {tmp_path / 'VideoReward'},", "checkpoint-11352/{model.pth",
                 "Qwen2-VL-2B-Instruct/{config.json", "KlingTeam/VideoReward"):
        assert part in message
    folder = tmp_path / "VideoReward"
    for pattern in REWARDS["videoalign"].required:  # every file but the checkpoint
        if "model.pth" not in pattern:
            path = folder / pattern.replace("*", "11352")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"checkpoint-\*/model.pth: not found"):
        check_files(REWARDS["videoalign"], folder)
    (folder / "checkpoint-11352" / "model.pth").write_bytes(b"")
    assert check_files(REWARDS["videoalign"], folder) == folder


def test_files_are_checked_before_the_loader_is_even_imported(tmp_path, monkeypatch):
    imported = []
    real_import = importlib.import_module
    monkeypatch.setattr(importlib, "import_module", lambda name, *a: imported.append(name) or real_import(name, *a))
    with pytest.raises(FileNotFoundError, match="HPSv3.safetensors, Qwen2-VL-7B-Instruct/config.json, .*: not found.*MizzenAI/HPSv3"):
        load_image_reward("hpsv3", tmp_path)
    with pytest.raises(ConfigError, match="not an image reward"):
        load_image_reward("sprites-video", DEFAULT_WEIGHTS_DIR)
    with pytest.raises(ConfigError, match="not a video reward"):
        load_video_reward("sprites-image", DEFAULT_WEIGHTS_DIR)
    assert imported == []


def test_sprites_rewards_load_by_name_and_score_as_before():
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(5, 3, 64, 64, generator=g)
    image = load_image_reward("sprites-image", DEFAULT_WEIGHTS_DIR, max_batch=2)
    assert isinstance(image, ImageReward) and image.device == torch.device("cpu") and image.max_batch == 2
    assert load_image_reward("sprites-image", DEFAULT_WEIGHTS_DIR).max_batch == 64  # None: the loader's default
    direct = SpritesImageReward.from_pretrained(DEFAULT_WEIGHTS_DIR)
    torch.testing.assert_close(image(frames, [PROMPT] * 5), direct(frames, [PROMPT] * 5), rtol=1e-5, atol=1e-5)

    clips = (torch.rand(3, 12, 3, 64, 64, generator=g) * 255).to(torch.uint8)
    video = load_video_reward("sprites-video", DEFAULT_WEIGHTS_DIR, max_batch=2)
    assert isinstance(video, VideoReward)
    ours, theirs = video(clips, [PROMPT] * 3, 16.0), SpritesVideoReward.from_pretrained(DEFAULT_WEIGHTS_DIR)(
        clips, [PROMPT] * 3, 16.0)
    assert isinstance(ours, VideoScore) and set(ours.parts) == set(theirs.parts)
    torch.testing.assert_close(ours.overall, theirs.overall, rtol=1e-5, atol=1e-5)
    bf16 = load_image_reward("sprites-image", DEFAULT_WEIGHTS_DIR, dtype=torch.bfloat16)
    assert bf16.module.quality[0].weight.dtype == torch.bfloat16
    assert bf16(frames, [PROMPT] * 5).dtype == torch.float32


def test_yaml_rewards_section_and_its_errors(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("rewards:\n  image: hpsv3=/models/HPSv3\n  video: videoalign\n  device: cuda:1\n"
                    "  offload: true\n  max_batch: 4\n  dtype: bfloat16\n")
    rewards = build_config("stream-t1", path, ["rewards.max_batch=2"]).rewards
    assert (rewards.image, rewards.video, rewards.device, rewards.offload, rewards.max_batch, rewards.dtype) == (
        "hpsv3=/models/HPSv3", "videoalign", "cuda:1", True, 2, "bfloat16")
    assert build_config("stream-t1", path, rewards={"image": "pickscore"}).rewards.image == "pickscore"  # flags win
    for override, message in [
        ("rewards.colour=1", r"unknown config key\(s\) rewards.colour"),
        ("rewards.image=videoalign", "'videoalign' is a video reward"),
        ("rewards.video=sora", "unknown video reward 'sora'"),
        ("rewards.max_batch=0", "rewards.max_batch=0"),
        ("rewards.dtype=int8", "rewards.dtype='int8'"),
        ("rewards.offload=maybe", "rewards.offload='maybe'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            build_config("stream-t1", overrides=[override])


def test_backend_registry_is_the_one_list():
    assert backends.backend_names() == ("sprites", "longlive", "self-forcing", "causvid")
    for name in ("longlive", "self-forcing", "causvid"):
        entry = backends.get_backend(name)
        assert dict(entry.default_rewards) == {"image": "hpsv3", "video": "videoalign"}
        assert all(get_reward(r, kind) for kind, r in entry.default_rewards.items())
    assert backends.get_backend("sprites").default_rewards["video"] == "sprites-track-video"
    with pytest.raises(ConfigError, match="backend='sora' is invalid: expected one of sprites, longlive"):
        backends.get_backend("sora")
    with pytest.raises(ConfigError, match="run.backend='sora'"):
        build_config(backend="sora")
    with pytest.raises(ValueError, match="already registered"):
        backends.register_backend(backends.get_backend("sprites"))


def _release(name, tmp_path, request):
    """A tiny release folder of reward ``name`` in ``tmp_path`` (the Qwen ones copied from their session build)."""
    if name in ("hpsv3", "videoalign"):
        return shutil.copytree(request.getfixturevalue(f"{name}_release").path, tmp_path / name)
    return getattr(clip_fixtures, f"write_{name}")(tmp_path)


@pytest.mark.parametrize("name, relative", [(name, pattern) for name in REAL for pattern in REWARDS[name].required
                                            if "*" not in pattern])
def test_every_loader_names_a_missing_required_file_in_one_line(name, relative, tmp_path, request):
    folder = _release(name, tmp_path, request)
    alternatives = relative.split(" | ")  # "a | b": either will do, so both are taken away
    for each in alternatives:
        (folder / each).unlink(missing_ok=len(alternatives) > 1)
    module = importlib.import_module(f"streamt1.rewards.{name}")
    with pytest.raises(FileNotFoundError) as info:
        module.load(folder)  # the files are checked before the loader reads any
    assert_missing_file_message(info.value, " or ".join(alternatives), REWARDS[name], folder)


def test_every_missing_required_file_is_named_at_once(tmp_path):
    folder = clip_fixtures.write_pickscore(tmp_path)
    for relative in ("config.json", "processor/preprocessor_config.json"):  # the weights and tokenizer stay
        (folder / relative).unlink()
    with pytest.raises(FileNotFoundError, match=r"^config.json, processor/preprocessor_config.json: not found; "
                                                r".*place it at " + str(folder) + ", laid out as"):
        importlib.import_module("streamt1.rewards.pickscore").load(folder)


@pytest.mark.parametrize("name", ["pickscore"])  # hpsv2 / imagereward take their (tiny) sizes as arguments
def test_clip_family_rewards_load_by_name_from_their_released_layout(name, tmp_path, request):
    """Through the registry (files checked, then the module's loader) the scores are the loader's own."""
    folder = _release(name, tmp_path, request)
    frames = torch.rand(3, 3, 40, 56, generator=torch.Generator().manual_seed(0))
    scores = load_image_reward(name, folder, max_batch=2)(frames, [PROMPT] * 3)
    direct = importlib.import_module(f"streamt1.rewards.{name}").load(folder, max_batch=2)(frames, [PROMPT] * 3)
    assert scores.shape == (3,) and torch.isfinite(scores).all()
    torch.testing.assert_close(scores, direct, rtol=0, atol=0)


def test_reward_settings_reach_the_loaded_rewards():
    from streamt1 import api

    config = build_config("beam", rewards={"max_batch": 5, "offload": True}, device="cpu")
    components = api.load_components(config)
    assert components.image_reward.reward.max_batch == 5 and components.video_reward.reward.max_batch == 5
    assert components.image_reward.device == torch.device("cpu")  # Offloaded to run.device
    none = api.load_components(build_config("none", device="cpu"))
    assert none.image_reward is None and none.video_reward is None  # --method none loads no reward


@pytest.mark.parametrize("raised, caught", [
    (KeyError("added_tokens"), ConfigError),  # what a tokenizer.json of another layout raises: one line
    (OSError("It looks like the config file is not a valid JSON file."), ConfigError),
    (RuntimeError("a bug in a loader"), RuntimeError),  # not a damaged file: not dressed up as one
    (PermissionError(13, "Permission denied"), PermissionError),  # the file system's own error, as it is
])
def test_only_what_a_damaged_file_raises_is_reported_as_one(monkeypatch, raised, caught):
    import streamt1.rewards as rewards

    def loader(*_, **__):
        raise raised
    monkeypatch.setattr(rewards, "import_object", lambda _: loader)
    with pytest.raises(caught) as err:
        load_image_reward("sprites-image", DEFAULT_WEIGHTS_DIR)
    if caught is ConfigError:
        assert f"the sprites-image reward's files in {DEFAULT_WEIGHTS_DIR} could not be read" in str(err.value)


def test_a_weights_file_given_where_its_folder_belongs_is_named():
    weights = DEFAULT_WEIGHTS_DIR / "image_reward.safetensors"
    with pytest.raises(FileNotFoundError) as info:
        load_image_reward("sprites-image", weights)
    message = str(info.value)
    assert message.startswith(f"{weights} is a file, not a folder: the sprites-image reward is read from a folder "
                              "laid out as <folder>/{image_reward.safetensors, image_reward.json}; give that folder")
