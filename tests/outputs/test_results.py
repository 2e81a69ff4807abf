"""Run settings and when a recorded video counts as made with them."""

import copy

from streamt1.config import build_config
from streamt1.outputs.fingerprint import fingerprint
from streamt1.outputs.results import made_alike, run_settings

SPRITES = "streamt1.sprites.rewards.Sprites{}Reward"


def _settings(method: str, loaded: dict, **rewards) -> dict:
    return run_settings(build_config(method, rewards=rewards or None), "float32", loaded)


def test_a_reward_the_method_does_not_call_leaves_its_settings_alone():
    plain = _settings("none", {"image": None, "video": None})
    assert _settings("none", {"image": None, "video": None}, image="hpsv3=/nowhere") == plain  # named in vain
    assert plain["rewards"]["image"] is None and plain["rewards"]["loaded"] == {"image": None, "video": None}
    searched = _settings("stream-t1", {"image": SPRITES.format("Image"), "video": SPRITES.format("Video")},
                         image="sprites-image")
    assert searched["rewards"]["image"] == "sprites-image"  # a reward it calls stays named


def test_records_that_listed_rewards_loaded_beside_the_method_still_count_as_made_alike():
    now = _settings("none", {"image": None, "video": None})
    # as folders recorded it before: every reward the shared components held, and one named in vain
    before = copy.deepcopy(now)
    before["rewards"]["loaded"] = {"image": SPRITES.format("Image"), "video": SPRITES.format("Video")}
    before["rewards"]["image"] = "hpsv3=/nowhere"
    assert made_alike(fingerprint(before), before, now)
    assert made_alike(fingerprint(now), now, now)
    # anything else that differs still does not
    other = copy.deepcopy(before)
    other["search"]["tau"] = 0.9
    assert not made_alike(fingerprint(other), other, now)
    # nor a reward the method calls
    searched = _settings("stream-t1", {"image": SPRITES.format("Image"), "video": SPRITES.format("Video")})
    elsewhere = copy.deepcopy(searched)
    elsewhere["rewards"]["image"] = "hpsv3=/somewhere"
    assert not made_alike(fingerprint(elsewhere), elsewhere, searched)
