import json

import pytest

from png_helpers import image_size, pixels

from streamt1.outputs.plots import plot_rewards, plot_search_tree
from streamt1.search.trace import CandidateRecord, ChunkRecord, HistoryRecord, Trace

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLOTS = [plot_search_tree, plot_rewards]


def _check_png(path, min_bytes=8000):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > min_bytes
    image = pixels(path, "L")
    assert image.std() > 5  # something was drawn, not a blank canvas
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp left over
    return image


@pytest.mark.parametrize("plot", PLOTS)
@pytest.mark.parametrize(
    "case",
    [
        dict(num_chunks=7, k=2, m=2),
        dict(num_chunks=1, k=2, m=2),
        dict(num_chunks=5, k=1, m=1, scored=False, final=False),  # plain generation
        dict(num_chunks=4, k=3, m=2, final=False),  # unfinished: no lineage
        dict(num_chunks=5, k=1, m=4),  # every chunk pruned to one survivor
    ],
)
def test_plots_on_synthetic_traces(tmp_path, synthetic_trace, plot, case):
    path = tmp_path / "plot.png"
    plot(synthetic_trace(**case), path)
    _check_png(path)


@pytest.mark.parametrize("plot", PLOTS)
def test_many_chunks_scale_width_not_labels(tmp_path, synthetic_trace, plot):
    short, long = tmp_path / "short" / "p.png", tmp_path / "long" / "p.png"
    plot(synthetic_trace(num_chunks=6), short)
    plot(synthetic_trace(num_chunks=60, seed=2), long)
    width_short, _ = image_size(short)
    width_long, height_long = image_size(long)
    assert width_long > 1.5 * width_short
    assert width_long < 5000


@pytest.mark.parametrize("plot", PLOTS)
def test_partially_null_scores_and_dict_input(tmp_path, plot):
    """Some candidates unscored (e.g. pruned early), alpha missing, given as a loaded JSON dict."""
    trace = Trace.start(method="beam", prompt="x" * 300, seed=1, fps=16, num_chunks=3)
    for n in range(2):
        candidates = [
            CandidateRecord(id=i, parent=0, seed=i, short=None if i == 2 else 0.1 * i, long=None,
                            score=None if i else float(n), kept=i == 0, history=0 if i == 0 else None)
            for i in range(3)
        ]
        trace.add_chunk(ChunkRecord(index=n, candidates=candidates, histories=[HistoryRecord(candidate=0)]))
    data = json.loads(json.dumps(trace.to_dict()))
    plot(data, tmp_path / "p.png")
    _check_png(tmp_path / "p.png")


@pytest.mark.parametrize("plot", PLOTS)
def test_empty_trace_is_a_clear_error(tmp_path, plot):
    trace = Trace.start(method="beam", prompt="p", seed=0, fps=16, num_chunks=3)
    with pytest.raises(ValueError, match="no chunks"):
        plot(trace, tmp_path / "p.png")
    assert list(tmp_path.iterdir()) == []


def test_chosen_lineage_is_drawn_in_red(tmp_path, synthetic_trace):
    with_final, without = tmp_path / "a" / "t.png", tmp_path / "b" / "t.png"
    plot_search_tree(synthetic_trace(num_chunks=5, seed=4), with_final)
    plot_search_tree(synthetic_trace(num_chunks=5, seed=4, final=False), without)

    def redpixels(path):
        rgb = pixels(path, "RGB").astype(int)
        return int(((rgb[..., 0] > 180) & (rgb[..., 1] < 60) & (rgb[..., 2] < 90)).sum())

    assert redpixels(with_final) > 500
    assert redpixels(without) < 50
