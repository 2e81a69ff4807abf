"""``benchmarks/sprites_cpu.py``: methods timed side by side, a preset's variant among them."""


def test_a_preset_variant_runs_beside_its_preset(load_benchmark, sprites_weights, capsys):
    cpu = load_benchmark("sprites_cpu")
    wide = cpu.method_config("stream-t1+first_chunk_candidates=8", ["search.tau=0.2"], str(sprites_weights), 6)
    assert wide.method == "stream-t1" and wide.search.first_candidates == 8 and wide.search.tau == 0.2
    plain = cpu.method_config("none", ["search.histories=4"], str(sprites_weights), 6)
    assert plain.search.histories == 1  # plain generation keeps what its preset pins
    cpu.main(["--methods", "none,stream-t1,stream-t1+first_chunk_candidates=8", "--num-frames", "6",
              "--threads", "1", "--weights", str(sprites_weights)])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "wall s" not in line]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows] == ["none", "stream-t1", "stream-t1+first_chunk_candidates=8"]


def test_dtypes_run_side_by_side_each_in_its_own_generator(load_benchmark, sprites_weights, capsys):
    load_benchmark("sprites_cpu").main(["--methods", "none", "--num-frames", "6", "--threads", "1", "--weights",
                                        str(sprites_weights), "--dtypes", "float32,bfloat16"])
    out = capsys.readouterr().out
    assert "run.dtype=float32 (float32)" in out and "run.dtype=bfloat16 (bfloat16)" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "wall s" not in line]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows] == ["none (float32)", "none (bfloat16)"]


def test_generator_variants_run_side_by_side_each_with_its_own_settings(load_benchmark, sprites_weights, capsys):
    load_benchmark("sprites_cpu").main(["--methods", "none", "--num-frames", "6", "--threads", "1", "--weights",
                                        str(sprites_weights), "--variant", "", "--variant", "run.guided_chunks=0"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "wall s" not in line]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows] == ["none [defaults]", "none [run.guided_chunks=0]"]
    assert "variant (defaults)" in out and "variant run.guided_chunks=0" in out
