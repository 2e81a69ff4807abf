"""Prompt suites: the shipped VBench lists, the Sprites held-out prompts, text, JSONL and JSON files."""

import json

import pytest

from streamt1.config import ConfigError
from streamt1.suites import load_suite, read_prompt_file


def test_vbench_lists_are_shipped_and_line_aligned():
    plain, extended = load_suite("vbench"), load_suite("vbench-extended")
    assert len(plain.items) == len(extended.items) == 946
    assert [i.eval_prompt for i in extended.items] == [i.prompt for i in plain.items]
    assert all(len(e.prompt) > len(e.eval_prompt) for e in extended.items[:20])
    assert plain.items[0].prompt == "In a still frame, a stop sign"


def test_limit_keeps_indices():
    full, first = load_suite("vbench"), load_suite("vbench", limit=5)
    assert [i.index for i in first.items] == list(range(5)) and first.items == full.items[:5]


def test_sprites_suite_needs_no_files():
    suite = load_suite("sprites", limit=3, num_frames=3)
    assert len(suite.items) == 3 and all(i.prompt == i.eval_prompt for i in suite.items)


def test_text_and_jsonl_files(tmp_path):
    text = tmp_path / "p.txt"
    text.write_text("# comment\nfirst prompt\n\n second prompt \n", encoding="utf-8")
    assert read_prompt_file(text) == [("first prompt", "first prompt"), ("second prompt", "second prompt")]
    text.write_text("first prompt\r\nsecond prompt\r\n", encoding="utf-8-sig")  # as Windows editors save it
    assert read_prompt_file(text) == [("first prompt", "first prompt"), ("second prompt", "second prompt")]
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('"plain"\n{"prompt": "long text", "eval_prompt": "short"}\n', encoding="utf-8")
    assert [i.eval_prompt for i in load_suite(str(jsonl)).items] == ["plain", "short"]


def test_json_files_list_or_vbench_map(tmp_path):
    listed = tmp_path / "p.json"
    listed.write_text('["first prompt", " second prompt "]', encoding="utf-8-sig")  # a byte-order mark is read past
    assert read_prompt_file(listed) == [("first prompt", "first prompt"), ("second prompt", "second prompt")]
    # VBench's {video: prompt} map names a prompt once per seed: each prompt is read once, in order
    vbench = tmp_path / "prompt_file.json"
    vbench.write_text(json.dumps({"b-0.mp4": "second", "a-0.mp4": "first", "b-1.mp4": "second"}), encoding="utf-8")
    assert [i.prompt for i in load_suite(str(vbench)).items] == ["second", "first"]


@pytest.mark.parametrize("content, message", [
    ("one prompt per line\n", "is not valid JSON"),
    ('{"prompts": ["a", "b"]}', "must hold a JSON list of prompts"),
    ('["a", 3]', "must hold a JSON list of prompts"),
    ("[]", "holds no prompt"),
    ('["a", " "]', "holds an empty prompt"),
])
def test_bad_json_prompt_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        read_prompt_file(path)


@pytest.mark.parametrize("content, message", [
    (b"", "holds no prompt"),
    (b"# only a comment\n\n", "holds no prompt"),
    (b"\xff\xfe\x00bad", "cannot be read as UTF-8"),
])
def test_bad_prompt_files(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        load_suite(str(path))


def test_bad_suite_names_and_limits(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown suite 'vbnech' \(did you mean vbench\?\)"):
        load_suite("vbnech")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_suite(str(tmp_path / "missing.txt"))
    with pytest.raises(ConfigError, match="--limit=0"):
        load_suite("vbench", limit=0)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no prompt key"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match='"prompt" string'):
        load_suite(str(bad))
    bad.write_text('{"prompts": ["a red circle", "a blue square"], "switch_frame_indices": [24]}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="is a prompt-switch stream .* `streamt1 generate --prompts-file`"):
        load_suite(str(bad))
    for name in ("settings.yaml", "missing.yml"):  # read as prompts, or called unknown, before
        (tmp_path / "settings.yaml").write_text("method: none\n")
        with pytest.raises(ConfigError, match="a YAML file is bench settings \\(pass it as --config\\)"):
            load_suite(str(tmp_path / name))
