"""Prompt schedules: the three ways to write one and every rule they must follow."""

import json

import pytest

from streamt1.config import ConfigError
from streamt1.schedule import (
    PromptSchedule,
    Segment,
    as_schedule,
    from_switches,
    parse_switch_frames,
    read_jsonl,
    read_schedules,
    read_yaml_schedule,
)


def test_switches_give_segments_and_the_active_prompt_per_frame():
    schedule = from_switches(["a", "b", "c"], [6, 12])
    assert schedule.segments == (Segment("a", 0), Segment("b", 6), Segment("c", 12))
    assert [schedule.segment_at(f) for f in (0, 5, 6, 11, 12, 40)] == [0, 0, 1, 1, 2, 2]
    assert schedule.switch_frames == [6, 12] and schedule.text() == "a then b then c"
    schedule.validate(num_frames=15, chunk_frames=3)
    assert as_schedule("a") == PromptSchedule.single("a") == from_switches(["a"], [])
    assert as_schedule([Segment("a", 0), Segment("b", 3)]) == from_switches(["a", "b"], [3])


@pytest.mark.parametrize("make, message", [
    (lambda: from_switches(["a", "b"], []), "^switch_at: 2 prompts need 1 switch frame"),  # the Python name
    (lambda: from_switches(["a"], [6]), r"one prompt has nothing to switch to at \[6\]"),
    (lambda: from_switches(["a", "b", "c"], [12, 6]), "not increasing"),
    (lambda: from_switches(["a", "b"], [0]), "switch frame 0 is invalid: the first prompt starts at frame 0"),
    (lambda: from_switches(["a", " "], [3]), "prompt 2 of 2 is empty"),
    (lambda: PromptSchedule((Segment("a", 3),)), "must start at frame 0"),
    (lambda: from_switches(["a", "b"], [12]).validate(12, 3), "beyond the video"),
    (lambda: from_switches(["a", "b"], [7]).validate(12, 3), "not on a chunk boundary"),
    (lambda: parse_switch_frames("6,x", "--switch-at"), "not an integer"),
])
def test_each_rule_breach_is_a_config_error_naming_the_rule(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_longlive_jsonl_with_indices_per_line_or_from_the_command_line(tmp_path):
    path = tmp_path / "interactive.jsonl"
    path.write_text(json.dumps({"prompts": ["a", "b", "c"], "switch_frame_indices": "3, 9"}) + "\n\n"
                    + json.dumps({"prompts": ["d", "e"]}) + "\n")
    first, second = read_jsonl(path, switch_at=[6])
    assert first == from_switches(["a", "b", "c"], [3, 9])
    assert second == from_switches(["d", "e"], [6])
    assert read_schedules(path, [6]) == [first, second]
    with pytest.raises(ConfigError, match="2 prompts need 1 switch frame"):
        read_jsonl(path)  # the second line has no indices of its own
    path.write_text(json.dumps({"prompts": ["a", "b"], "switch_frame_indices": [3]}) + "\n")
    assert read_jsonl(path) == [from_switches(["a", "b"], [3])]
    with pytest.raises(ConfigError, match="no line of .* is one: leave --switch-at out"):
        read_jsonl(path, switch_at=[6])  # it would change nothing: refused, not ignored


def test_switch_at_fills_only_the_jsonl_lines_of_several_prompts_without_the_key(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(json.dumps(line) for line in (  # a byte-order mark first
        {"prompts": ["a", "b"]}, {"prompts": ["c"]}, {"prompts": ["d"], "switch_frame_indices": []},
    )).encode())
    filled, single, keeps_its_own = read_jsonl(path, switch_at=[6])
    assert filled == from_switches(["a", "b"], [6])
    assert (single, keeps_its_own) == (PromptSchedule.single("c"), PromptSchedule.single("d"))
    path.write_text(json.dumps({"prompts": ["a", "b"], "switch_frame_index": [3]}) + "\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) switch_frame_index \(did you mean switch_frame_indices\?\)"):
        read_jsonl(path)
    path.write_text('{"prompts": "a"}\n')
    with pytest.raises(ConfigError, match='needs "prompts"'):
        read_jsonl(path)
    path.write_text("{not json\n")
    with pytest.raises(ConfigError, match="not valid JSON"):
        read_jsonl(path)


def test_an_empty_yaml_schedule_says_it_holds_no_prompt(tmp_path):
    path = tmp_path / "schedule.yaml"
    path.write_text("[]\n")
    with pytest.raises(ConfigError, match="holds no prompt"):
        read_yaml_schedule(path)
    path.write_text("prompt: a red circle moves left\n")
    with pytest.raises(ConfigError, match="must hold a list"):
        read_yaml_schedule(path)


def test_yaml_list_of_prompt_and_from_frame(tmp_path):
    path = tmp_path / "schedule.yaml"
    path.write_text("- prompt: a red circle moves left\n- prompt: a red circle moves up\n  from_frame: 24\n")
    assert read_yaml_schedule(path) == from_switches(["a red circle moves left", "a red circle moves up"], [24])
    assert read_schedules(path) == [read_yaml_schedule(path)]
    with pytest.raises(ConfigError, match="--switch-at needs several --prompt"):
        read_schedules(path, [6])
    path.write_text("- prompt: a\n- prompt: b\n")
    with pytest.raises(ConfigError, match="from_frame is missing"):
        read_yaml_schedule(path)
    path.write_text("- {prompt: a, from: 0}\n")
    with pytest.raises(ConfigError, match="expected {prompt"):
        read_yaml_schedule(path)
    with pytest.raises(ConfigError, match="does not exist"):
        read_yaml_schedule(tmp_path / "missing.yaml")
    path.write_text("- prompt: [\n")
    with pytest.raises(ConfigError, match=r"schedule file '.*schedule.yaml' is not valid YAML: line 2, column 1:") as err:
        read_yaml_schedule(path)
    assert "\n" not in str(err.value)


def test_text_files_hold_one_single_prompt_schedule_per_line(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("# comment\na\n\nb\n")
    assert read_schedules(path) == [PromptSchedule.single("a"), PromptSchedule.single("b")]
