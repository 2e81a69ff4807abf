"""The bench folder's plan: what every run into it asked for, in the order first asked."""

from streamt1.outputs.bench_report import method_folders, read_plan, record_plan


def test_a_partial_rerun_adds_to_the_plan_and_keeps_its_order(tmp_path):
    assert read_plan(tmp_path) == {"methods": [], "seeds": []}
    record_plan(tmp_path, "sprites", 8, [0, 1], ["none", "stream-t1"], {"a": "a red circle"})
    record_plan(tmp_path, "sprites", 4, [2, 0], ["beam", "none"], {"a": "a red circle", "b": "a blue square"})
    # methods and seeds are the union of the runs; the prompts, the suite as the latest run read it
    assert read_plan(tmp_path) == {"suite": "sprites", "num_prompts": 8, "seeds": [0, 1, 2],
                                   "methods": ["none", "stream-t1", "beam"],
                                   "prompts": {"a": "a red circle", "b": "a blue square"}}


def test_method_folders_follow_the_plan_then_the_folders_found(tmp_path):
    for name in ("stream-t1", "beam", "zeta", "none"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "settings.json").write_text("{}")
    record_plan(tmp_path, "sprites", 2, [0], ["none", "stream-t1", "beam", "absent"], {})
    assert method_folders(tmp_path) == ["none", "stream-t1", "beam", "zeta"]
