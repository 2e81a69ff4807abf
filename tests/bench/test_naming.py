"""File names never collide, stay under the 255-byte limit, and keep VBench's <prompt>-<i> where safe."""

import pytest

from streamt1 import api
from streamt1.outputs.naming import MAX_VERBATIM_BYTES, check_stem, output_paths, prompt_names, video_stem
from streamt1.suites import load_suite

LONG = "a cinematic shot of " + "a very long and detailed description " * 8

COLLIDING = [
    "a cat runs",
    "a cat runs",  # exact repeat
    "A Cat Runs",  # same file on case-insensitive file systems
    LONG + "ending one",  # share a 300-character prefix
    LONG + "ending two",
    "a 3/4 view of a car",  # slash
    "a 3-4 view of a car",  # what a naive slug of the previous one gives
    "une façade au soleil",  # non-ASCII
    "une facade au soleil",  # its ASCII folding
    "猫が走る",  # no ASCII at all
    "a-cat-runs-0123abcd",  # looks like a hashed name
    "00001-a-cat-runs-" + "0" * 8,  # looks like a repeat's name
    ".hidden", "-flag", "trailing dot.", " padded ",
]


def test_names_never_collide_and_fit_file_systems():
    names = prompt_names(COLLIDING)
    assert len({n.casefold() for n in names}) == len(COLLIDING)
    stems = [video_stem(n, 4) for n in names]
    # the longest derived file is the atomic writer's temp file ".<stem>.rewards.XXXXXXXX.tmp.png"
    assert all(len(f".{s}.rewards.12345678.tmp.png".encode()) <= 255 for s in stems)
    assert all("/" not in n and not n.startswith((".", "-")) for n in names)
    assert names[0] == "a cat runs" and names[6] == "a 3-4 view of a car"  # safe prompts stay verbatim


def test_names_are_stable_under_limit():
    """A name depends only on the prompts before it, so --limit never renames a video."""
    full = prompt_names(COLLIDING)
    assert prompt_names(COLLIDING[:5]) == full[:5]


def test_vbench_suite_names_match_vbench_except_repeats_case_twins_and_non_ascii():
    prompts = [item.eval_prompt for item in load_suite("vbench").items]
    names = prompt_names(prompts)
    verbatim = [n for n, p in zip(names, prompts) if n == p]
    assert max(map(len, prompts)) <= MAX_VERBATIM_BYTES
    # 2 repeated prompts, "A fantasy landscape" after "a fantasy landscape" (one file on macOS),
    # and the one with "façades"
    assert len(verbatim) == 946 - 2 - 1 - 1
    assert len(set(names)) == 946


def test_api_output_stem_separates_long_prompts_with_a_shared_prefix():
    first, second = api.output_stem(LONG + "one", 0), api.output_stem(LONG + "two", 0)
    assert first != second and first.endswith("-0")
    assert api.output_stem("a red circle moves left", 3) == "a red circle moves left-3"
    assert len(set(api.output_stems(["x y", "x y", "X Y"], 0))) == 3


@pytest.mark.parametrize("stem", ["", ".hidden", "../escape", "a/b", "a\\b"])
def test_a_stem_that_cannot_name_files_in_the_folder_is_refused_before_anything_is_written(tmp_path, stem):
    from streamt1.config import ConfigError

    with pytest.raises(ConfigError, match="cannot name a video's files"):
        api.save_trace(None, tmp_path / "out", stem)  # the stem is checked before the result is read
    assert not (tmp_path / "out").exists() and not list(tmp_path.iterdir())
    # what the project makes passes, however long its prompt or large its seed; any file's name may be looked up
    long_stem = api.output_stem("x" * MAX_VERBATIM_BYTES, 10**12)
    assert check_stem(long_stem) == long_stem and output_paths(tmp_path, "a\\b")["video"].name == "a\\b.mp4"
