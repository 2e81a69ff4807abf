"""Bench settings from a YAML file and flags; ablation rows; sharding arithmetic."""

import pytest

from streamt1.bench import MethodSpec, bench_settings
from streamt1.config import ConfigError
from streamt1.distributed import Shard


def test_yaml_file_with_ablation_rows_and_flags_on_top(tmp_path):
    config = tmp_path / "bench.yaml"
    config.write_text("suite: vbench\nseeds: [0, 1, 2, 3, 4]\nnum_frames: 21\nmethods:\n  - none\n"
                      "  - {name: st1-tau0.2, method: stream-t1, set: [search.tau=0.2]}\n")
    settings = bench_settings(str(config), limit=8, seeds=None)
    assert settings.seeds == (0, 1, 2, 3, 4) and settings.limit == 8 and settings.num_frames == 21
    assert settings.methods[1] == MethodSpec("st1-tau0.2", "stream-t1", ("search.tau=0.2",))
    assert bench_settings(str(config), seeds="7").seeds == (7,)


def test_set_may_be_written_as_a_mapping_in_a_settings_file(tmp_path):
    config = tmp_path / "bench.yaml"
    config.write_text("suite: sprites\nset:\n  search.tau: 0.5\n  search.fusion: zscore\n  run.num_frames: 12\n"
                      "methods:\n  - {name: wide, method: beam, set: {search.window_length: [3, 4]}}\n")
    settings = bench_settings(str(config))
    assert settings.overrides == ("search.tau=0.5", "search.fusion=zscore", "run.num_frames=12")
    assert settings.num_frames == 12  # the mapping's length counts as a list's would
    assert settings.methods[0].overrides == ("search.window_length=[3, 4]",)
    config.write_text("suite: sprites\nset: {search.tau: .inf, run.weights: 'yes'}\n")
    assert bench_settings(str(config)).overrides == ("search.tau=.inf", "run.weights='yes'")  # read back as written
    config.write_text("suite: sprites\nset: search.tau=0.5\n")
    with pytest.raises(ConfigError, match="as a list of key=value strings"):
        bench_settings(str(config))


def test_a_set_length_is_the_length_when_no_flag_gives_one():
    assert bench_settings(suite="sprites", set=["run.num_frames=12"]).num_frames == 12
    assert bench_settings(suite="sprites", set=["search.tau=0.3"]).num_frames == 48  # the default
    assert bench_settings(suite="sprites", num_frames=6, set=["run.num_frames=6"]).num_frames == 6
    for bad in ("0", "-3", "abc"):  # refused by name, not replaced by the default
        with pytest.raises(ConfigError, match=f"run.num_frames={bad!r}|run.num_frames={bad} is invalid"):
            bench_settings(suite="sprites", set=[f"run.num_frames={bad}"])


@pytest.mark.parametrize("text, message", [
    ("suite: vbench\nmethod: none\n", "unknown key"),
    ("methods: none\n", "no suite given"),
    ("suite: vbench\nmethods: none,none\n", "repeat a name"),
    ("suite: vbench\nseeds: [1, 1]\n", "distinct integers"),
    ("suite: vbench\nmehtods: none\n", "did you mean methods"),
    ("suite: sprites\nnum_frames: [9]\n", r"num_frames: \[9\] in .* expected an integer >= 1"),
    ("suite: sprites\nnum_frames: 0\n", "num_frames: 0 in"),  # not quietly the default 48
    ("suite: sprites\nnum_frames: 9.0\n", "num_frames: 9.0 in"),
    ("suite: sprites\nlimit: [1]\n", "limit: \\[1\\] in"),
    ("suite: sprites\nlimit: 1.7\n", "limit: 1.7 in"),
    ("suite: sprites\nlimit: one\n", "limit: 'one' in"),
    ("suite: sprites\nmethods: 5\n", "methods: 5 in"),
    ("suite: sprites\nseeds: 1.5\n", "seeds: 1.5 in"),
    ("suite: sprites\nmethods:\n  - {name: ../evil, method: none}\n", r"row name '../evil' is invalid: it names"),
    ("suite: sprites\nmethods:\n  - {name: a b, method: none}\n", r"row name 'a b' is invalid"),
    ("method: beam\nsearch:\n  tau: 0.3\nrun:\n  seed: 0\n", r"holds one method's settings .* generate --config"),
])
def test_bad_settings_files(tmp_path, text, message):
    config = tmp_path / "bench.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        bench_settings(str(config))


def test_round_robin_shards_cover_every_item_once():
    items = list(range(11))
    for world in (1, 2, 3, 4, 16):
        shards = [Shard(rank, world).take(items) for rank in range(world)]
        assert sorted(i for s in shards for i in s) == items  # nothing dropped (LongLive drops N mod W)
    assert Shard(1, 4).take(items) == [1, 5, 9]
    with pytest.raises(ConfigError):
        Shard(rank=2, world_size=2)
