import dataclasses

import pytest

from streamt1.config import (Config, ConfigError, SearchConfig, available_methods, build_config, parse_overrides,
                             read_yaml, shared_overrides)


def test_every_method_preset_loads_and_sets_its_units():
    methods = available_methods()
    assert list(methods)[:4] == ["none", "best-of-n", "beam", "stream-t1"]  # as the paper's tables list them
    assert set(methods) == {
        "none", "best-of-n", "beam", "stream-t1",
        "stream-t1-no-noise", "stream-t1-no-pruning", "stream-t1-no-sinking", "stream-t1-early",
    }
    configs = {name: build_config(name) for name in methods}
    full = configs["stream-t1"].search
    assert (full.histories, full.expansions, full.noise_fusion_sigma, full.tau) == (2, 2, -0.1, 0.4)
    assert full.noise_propagation and full.memory_sinking and full.pruning == "reward"
    assert not configs["stream-t1-no-noise"].search.noise_propagation
    assert configs["stream-t1-no-pruning"].search.pruning == "random"
    assert not configs["stream-t1-no-sinking"].search.memory_sinking
    early = configs["stream-t1-early"].search
    assert (early.expansions, early.early_pruning_step, early.early_keep) == (4, 0, 4)
    beam = configs["beam"].search
    assert not beam.noise_propagation and not beam.memory_sinking and beam.expansions > 1
    assert configs["none"].search.candidates_per_chunk == 1
    assert configs["best-of-n"].search.expansions == 1 and configs["best-of-n"].search.histories > 1
    assert all(isinstance(c, Config) and c.method == name for name, c in configs.items())


def test_layers_yaml_then_overrides_then_flags(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("method: beam\nsearch:\n  histories: 3\n  tau: 0.2\nrun:\n  seed: 5\n")
    config = build_config(None, path, ["search.tau=0.3", "run.num_frames=9"], seed=11)
    assert config.method == "beam"
    assert config.search.histories == 3
    assert config.search.tau == 0.3
    assert config.run.num_frames == 9
    assert config.run.seed == 11  # the flag over the YAML file
    assert not config.search.noise_propagation  # from the beam preset


def test_a_flag_and_a_set_of_the_same_setting_must_agree():
    assert build_config("stream-t1", None, ["run.seed=9"], seed=9).run.seed == 9
    with pytest.raises(ConfigError, match=r"--set run.seed=9 disagrees with run.seed=11, which the command line"):
        build_config("stream-t1", None, ["run.seed=9"], seed=11)
    with pytest.raises(ConfigError, match=r"--set rewards.image=sprites-image disagrees with rewards.image=hpsv3,"):
        build_config("stream-t1", None, ["rewards.image=sprites-image"], rewards={"image": "hpsv3"})
    with pytest.raises(ConfigError, match=r"--set run.compile=false disagrees with run.compile=true,"):
        build_config("stream-t1", None, ["run.compile=false"], compile=True)


def test_backend_search_defaults_sit_between_the_preset_and_the_users_settings(tmp_path):
    from streamt1.backends import BACKENDS

    preset = build_config("stream-t1", backend="longlive").search.max_sink_frames  # a backend without defaults
    sprites = BACKENDS["sprites"].search_defaults["max_sink_frames"]
    assert preset == 15 and sprites != preset
    assert build_config("stream-t1").search.max_sink_frames == sprites  # Sprites is the default backend
    assert build_config("stream-t1", None, ["run.backend=longlive"]).search.max_sink_frames == preset
    assert build_config("stream-t1", None, ["search.max_sink_frames=9"]).search.max_sink_frames == 9
    path = tmp_path / "run.yaml"
    path.write_text("run:\n  backend: self-forcing\n")
    assert build_config("stream-t1", path).search.max_sink_frames == preset
    path.write_text("search:\n  max_sink_frames: 12\n")
    assert build_config("stream-t1", path).search.max_sink_frames == 12
    assert build_config("best-of-n").search.final_score == "windows"  # the Sprites reward's final pick
    assert build_config("best-of-n", backend="longlive").search.final_score == "whole"  # the paper's
    # the defaults change a setting only: every unit the preset switches off stays off
    assert not build_config("stream-t1-no-sinking").search.memory_sinking


@pytest.mark.parametrize(
    "override, message",
    [
        ("search.histories=0", r"search.histories=0 is invalid: expected an integer >= 1"),
        ("search.expansions=-2", r"search.expansions=-2"),
        ("search.noise_fusion_sigma=1.5", r"search.noise_fusion_sigma=1.5 is invalid: expected a number in \[-1, 1\]"),
        ("search.tau=2", r"search.tau=2.0 is invalid: expected a number in \[0, 1\]"),
        ("search.long_window_chunks=0", r"search.long_window_chunks=0"),
        ("search.pruning=greedy", r"search.pruning='greedy'"),
        ("search.final_score=last", r"search.final_score='last'"),
        ("search.histories=two", r"search.histories='two' is invalid: expected an integer"),
        ("search.memory_sinking=maybe", r"search.memory_sinking='maybe' is invalid: expected true or false"),
        ("search.bogus=1", r"unknown config key\(s\) search.bogus"),
        ("run.backend=sora", r"run.backend='sora'"),
        ("run.guidance_scale=-1", r"run.guidance_scale=-1.0 is invalid"),
        ("run.guided_chunks=-2", r"run.guided_chunks=-2 is invalid"),
        ("run.guidance_sigmas=[0.9,0.5]", r"run.guidance_sigmas=\[0.9, 0.5\] is invalid"),
        ("run.still_guidance=-1", r"run.still_guidance=-1.0 is invalid"),
        ("run.still_guidance_sigmas=[0.5]", r"run.still_guidance_sigmas=\[0.5\] is invalid"),
        ("run.denoising_steps=[]", r"run.denoising_steps=\[\] is invalid"),
        ("run.denoising_steps=[1000, high]", r"run.denoising_steps=.* is invalid"),
        # the order is checked with the run (`streamt1 config` printed this one; generate refused it)
        ("run.denoising_steps=[1000, 500, 2000]", r"run.denoising_steps=.* is invalid: .*strictly decreasing"),
        ("run.first_chunk_substeps=0", r"run.first_chunk_substeps=0 is invalid"),
        ("run.first_chunk_eta=2", r"run.first_chunk_eta=2(\.0)? is invalid"),
        ("foo=1", r"unknown config key\(s\) foo in the top level: expected one of method, search, run, rewards$"),
        ("tau=0.3", r"unknown config key\(s\) tau in the top level: .* \(did you mean search.tau\?\)"),
        ("search.histories=", r"^search.histories is empty: expected an integer$"),
        ("run.dtype=", r"^run.dtype is empty: expected one of auto, float32, bfloat16, float16$"),
        ("search.fusion=zscor", r"^search.fusion='zscor' is invalid: expected one of raw, zscore \(did you mean zscore\?\)$"),
        ("search.pruning=rewards", r"^search.pruning='rewards' is invalid: expected one of .*random, .*reward.* \(did you mean reward\?\)$"),
        ("run.denoising_steps=[1000,833", r"^--set run.denoising_steps='\[1000,833' is not valid YAML: "
                                          r"line 1, column 10: expected ',' or '\]', but got '<stream end>'; "
                                          r"write a YAML value"),
        ("search.fusion={a: [", r"^--set search.fusion='\{a: \[' is not valid YAML: "),
    ],
)
def test_bad_values_name_the_key_the_value_and_the_range(override, message):
    with pytest.raises(ConfigError, match=message) as err:
        build_config("stream-t1", overrides=[override])
    assert "\n" not in str(err.value)


def test_unknown_method_lists_the_presets():
    with pytest.raises(ConfigError, match=r"unknown method 'greedy'.*stream-t1"):
        build_config("greedy")
    with pytest.raises(ConfigError, match=r"^method is empty: expected one of none, best-of-n, beam, stream-t1"):
        build_config("")


def test_config_file_errors_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        build_config("stream-t1", tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("search: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        build_config("stream-t1", bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("search:\n")
    with pytest.raises(ConfigError, match="section search is empty: give its settings"):
        build_config("stream-t1", empty)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        build_config("stream-t1", listy)


@pytest.mark.parametrize("content, message", [
    (b"search: {histories: 2\nrun: [\n", r"'c.yaml' is not valid YAML: line 2, column 4: expected ',' or '}'"),
    (b"\t- a: b\n", r"'c.yaml' is not valid YAML: line 1, column 1: found character '\\t'"),
    (b"\xff\xfe\x00garbage", r"'c.yaml' cannot be read as UTF-8 text"),
    (None, r"'c.yaml' is a folder, not a file"),
    (b"search:\n  histories: 3\n  tau: 0.2\n  histories: 4\n",  # YAML keeps the last silently
     r"'c.yaml' is not valid YAML: line 4, column 3: 'histories' is given twice \(lines 2 and 4\): give it once"),
])
def test_config_file_errors_are_one_line_naming_the_file(tmp_path, monkeypatch, content, message):
    monkeypatch.chdir(tmp_path)
    if content is None:
        (tmp_path / "c.yaml").mkdir()
    else:
        (tmp_path / "c.yaml").write_bytes(content)
    with pytest.raises(ConfigError, match=message) as err:
        build_config("stream-t1", "c.yaml")
    assert "\n" not in str(err.value) and "<unicode string>" not in str(err.value)


def test_config_files_keep_yaml_merge_keys(tmp_path):
    path = tmp_path / "anchored.yaml"
    path.write_text("base: &base {histories: 3, expansions: 2}\nsearch:\n  <<: *base\n  tau: 0.3\n")
    data = read_yaml(path)
    assert data["search"] == {"histories": 3, "expansions": 2, "tau": 0.3}


def test_override_syntax():
    assert parse_overrides(["search.tau=0.3", "search.fusion=zscore", "run.weights="]) == {
        "search": {"tau": 0.3, "fusion": "zscore"}, "run": {"weights": None}}
    with pytest.raises(ConfigError, match="must look like section.key=value"):
        parse_overrides(["search.tau"])
    with pytest.raises(ConfigError, match="'search.histories' is given twice, as 2 and 3"):
        parse_overrides(["search.histories=2", "search.histories=3"])
    assert parse_overrides(["search.histories=2", "search.histories=2"]) == {"search": {"histories": 2}}


def test_exponent_numbers_are_numbers_in_overrides_and_files(tmp_path):
    # YAML 1.1 (PyYAML) would read 1e-4 and 1e9 as strings and the config would refuse them
    assert parse_overrides(["search.tau=1e-1", "search.quality_threshold=1e9", "run.seed=3", "method=1e"]) == {
        "search": {"tau": 0.1, "quality_threshold": 1e9}, "run": {"seed": 3}, "method": "1e"}
    path = tmp_path / "my.yaml"
    path.write_text("method: stream-t1\nsearch:\n  transition_threshold: 5e-1\n")
    search = build_config(None, path, ["search.quality_threshold=-2E-1"]).search
    assert search.transition_threshold == 0.5 and search.quality_threshold == -0.2


def test_dataclass_validation_applies_to_direct_construction():
    with pytest.raises(ValueError, match="search.max_batch=0"):
        SearchConfig(max_batch=0)


def test_guidance_settings_reach_the_generators_stream():
    from streamt1 import api

    config = build_config("none", None, ["run.guidance_scale=2.5", "run.guided_chunks=1",
                                         "run.guidance_sigmas=[0.6,0.85]", "run.still_guidance=1",
                                         "run.still_guidance_sigmas=[0.5,1]"], device="cpu")
    stream = api.load_components(config).generator.stream
    assert (stream.guidance_scale, stream.guided_chunks, stream.guidance_sigmas) == (2.5, 1, (0.6, 0.85))
    assert (stream.still_guidance, stream.still_guidance_sigmas) == (1.0, (0.5, 1.0))
    from streamt1.sprites.model import SpritesVideoModel
    from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR

    own = SpritesVideoModel.from_pretrained(DEFAULT_WEIGHTS_DIR).stream  # left unset: the model's own
    default = api.load_components(build_config("none", device="cpu")).generator.stream
    assert default == dataclasses.replace(own, global_sink=default.global_sink)


def test_sampling_schedule_settings_reach_the_generators_stream():
    from streamt1 import api

    overrides = ["run.denoising_steps=[1000, 700, 400, 150]", "run.first_chunk_substeps=8", "run.first_chunk_eta=0.3"]
    stream = api.load_components(build_config("none", None, overrides, device="cpu")).generator.stream
    assert stream.denoising_steps == (1000.0, 700.0, 400.0, 150.0) and stream.first_chunk_substeps == 8
    assert stream.first_chunk_eta == 0.3
    # the model's own timestep range decides, and the error names the run's setting
    with pytest.raises(ConfigError, match=r"^the run's denoising_steps does not suit this model: denoising_steps="):
        api.load_components(build_config("none", None, ["run.denoising_steps=[2000, 700]"], device="cpu"))


def test_a_backend_names_every_missing_requirement_in_one_message():
    from streamt1.backends import get_backend

    run = build_config("none").run  # no --weights
    needy = dataclasses.replace(get_backend("longlive"), requires=("no_such_package_for_this_test",), extra="wan")
    with pytest.raises(ConfigError) as info:
        needy.check(run)
    message = str(info.value)
    assert message.startswith(
        "run.backend='longlive' needs no_such_package_for_this_test: pip install 'stream-t1[wan]'")
    assert "(in a source checkout: pip install -e '.[wan]')" in message
    assert "; and --weights DIR with the released checkpoints (longlive_base.pt" in message
    # where to get them, as a missing file's message says (that one only comes once --weights is given)
    assert ("published in the LongLive release (Efficient-Large-Model/LongLive-1.3B" in message
            and "and the Wan2.1 release (Wan-AI/Wan2.1-T2V-1.3B" in message)
    with pytest.raises(ConfigError, match=r"needs --weights DIR"):
        dataclasses.replace(needy, requires=()).check(run)


def test_a_method_given_and_named_by_a_file_or_an_override_must_agree(tmp_path):
    saved = tmp_path / "beam.yaml"
    saved.write_text("method: beam\n")
    assert build_config(None, str(saved)).method == "beam"  # none given: the file's
    assert build_config("beam", str(saved)).method == "beam"  # the same twice is fine
    assert build_config(None, None, ["method=none"]).method == "none" and build_config().method == "stream-t1"
    with pytest.raises(ConfigError, match=f"method none conflicts with method: beam in {saved}; give the method once"):
        build_config("none", str(saved))
    with pytest.raises(ConfigError, match="method beam conflicts with the override method=none"):
        build_config("beam", str(saved), ["method=none"])
    with pytest.raises(ConfigError, match="method is empty"):
        build_config("")  # refused, not defaulted
    with pytest.raises(ConfigError, match="the override method= names no method"):
        build_config(None, None, ["method="])
    saved.write_text("method:\n")
    with pytest.raises(ConfigError, match=f"method: in {saved} names no method"):
        build_config(None, str(saved))


@pytest.mark.parametrize("given, message", [
    (dict(overrides="search.tau=0.3"), "overrides='search.tau=0.3' is invalid: expected a list of key=value"),
    (dict(rewards=["hpsv3"]), r"rewards=\['hpsv3'\] is invalid: expected a mapping of kind to reward"),
])
def test_api_arguments_of_the_wrong_type_are_named(given, message):
    with pytest.raises(ConfigError, match=message):
        build_config("stream-t1", **given)


@pytest.mark.parametrize("prompt, hint", [
    (None, "pass the prompt as a string"),
    (5, "pass the prompt as a string"),
    (["a red circle", "a blue square"], "schedule.from_switches"),
])
def test_a_prompt_of_the_wrong_type_is_named(prompt, hint):
    from streamt1.schedule import as_schedule

    with pytest.raises(ConfigError, match=f"is not a prompt: expected a string.*{hint}"):
        as_schedule(prompt)


def test_api_generate_refuses_an_out_folder_it_would_not_write(sprites_weights):
    from streamt1 import api

    with pytest.raises(TypeError, match=r"writes nothing, so it takes no out=: save the result with api.save_result"):
        api.generate("a red circle moves left", method="none", out="videos", weights=str(sprites_weights))


def test_shared_search_settings_leave_the_plain_baseline_plain(caplog):
    shared = ["search.histories=8", "run.num_frames=9", " search.first_chunk_candidates = 4",
              "search.global_sink=false", "search.tua=0.3"]
    assert shared_overrides("stream-t1", shared) == shared
    with caplog.at_level("WARNING", logger="streamt1"):
        kept = shared_overrides("none", shared)
    # what makes it plain generation stays; what shapes every method's cache, and typos, still reach it
    assert kept == ["run.num_frames=9", "search.global_sink=false", "search.tua=0.3"]
    assert "`none` keeps its own search.histories, search.first_chunk_candidates" in caplog.text
    plain = build_config("none", None, shared_overrides("none", ["search.histories=8", "search.global_sink=false"]))
    assert plain.search.histories == 1 and not plain.search.scores_chunks and not plain.search.global_sink
    # settings of units plain generation has off cannot change its video: they do not reach it either
    scoring = ["search.tau=0.2", "search.fusion=zscore", "search.transition_threshold=0.02",
               "search.noise_fusion_sigma=0.5", "search.final_score=whole", "search.max_sink_frames=9"]
    assert shared_overrides("none", scoring) == ["search.max_sink_frames=9"]
    assert {"tau", "fusion", "noise_fusion_sigma"} <= build_config("best-of-n").search.inert_settings()
    # best-of-n scores no chunk, but its final pick reads the video window by window: the window length acts
    windows = build_config("best-of-n", None, ["search.final_score=windows"]).search
    assert "long_window_chunks" not in windows.inert_settings()
    whole = build_config("best-of-n", None, ["search.final_score=whole"]).search
    assert "long_window_chunks" in whole.inert_settings() and "long_window_chunks" in build_config(
        "none").search.inert_settings()
    assert not {"tau", "noise_fusion_sigma", "transition_threshold"} & build_config("stream-t1").search.inert_settings()
    with pytest.raises(ConfigError, match="tua"):
        build_config("none", None, kept)


def test_a_home_folder_written_with_a_tilde_is_expanded(tmp_path, monkeypatch):
    # a YAML file's "weights: ~/wts", or --weights=~/wts, reaches no shell that would expand it
    from streamt1.rewards import parse_spec

    monkeypatch.setenv("HOME", str(tmp_path))
    config = build_config("none", None, ["run.weights=~/wts", "run.out=~/videos"])
    assert (config.run.weights, config.run.out) == (str(tmp_path / "wts"), str(tmp_path / "videos"))
    assert parse_spec("pickscore=~/PickScore", "image")[1] == tmp_path / "PickScore"


def test_a_config_dump_whose_method_line_was_edited_says_it_keeps_the_old_presets_search(tmp_path, caplog, capsys):
    from streamt1.cli import main

    dump = tmp_path / "beam.yaml"
    assert main(["config", "--method", "beam"]) == 0
    dump.write_text(capsys.readouterr().out)
    edited = tmp_path / "edited.yaml"
    edited.write_text(dump.read_text().replace("method: beam", "method: stream-t1"))
    with caplog.at_level("WARNING", logger="streamt1.config"):
        config = build_config(None, str(edited))
    assert config.method == "stream-t1" and not config.search.noise_propagation  # the file's values win, as before
    assert "sets search.noise_propagation=False, search.memory_sinking=False, which the stream-t1 preset sets " \
           "otherwise (they are the beam preset's)" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="streamt1.config"):  # an unedited dump (backend defaults included)
        build_config(None, str(dump))
    assert caplog.text == ""
