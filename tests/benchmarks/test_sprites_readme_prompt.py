"""``benchmarks/sprites_readme_prompt.py``: ``--set`` widens Stream-T1, never the plain generation beside it."""

import pytest


@pytest.fixture(scope="module")
def readme_prompt(load_benchmark):
    return load_benchmark("sprites_readme_prompt")


def _rows(readme_prompt, capsys, weights, out, *flags: str) -> dict[str, str]:
    readme_prompt.main(["--weights", str(weights), "--num-frames", "9", "--out", str(out), *flags])
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in lines if line.startswith(("none ", "stream-t1 "))}
    assert set(rows) == {"none", "stream-t1"}
    return rows


def test_a_wider_search_leaves_plain_generation_plain(readme_prompt, capsys, sprites_weights, tmp_path):
    default = _rows(readme_prompt, capsys, sprites_weights, tmp_path / "a")
    wide = _rows(readme_prompt, capsys, sprites_weights, tmp_path / "b", "--set", "search.histories=3",
                 "--set", "search.expansions=3")
    assert wide["none"] == default["none"]
    assert (tmp_path / "b" / "sprites_readme_prompt.png").is_file()
