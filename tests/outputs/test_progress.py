from streamt1.outputs.progress import ProgressLine, shorten


def test_shorten_cuts_at_a_word_and_says_so():
    stem = "a small red circle moves left over a blue background then a large green square moves up"
    short = shorten(stem, 40)
    assert short == "a small red circle moves left over a..." and len(short) <= 40
    assert shorten("a small red circle", 40) == "a small red circle"
    assert shorten("a  small   red", 40) == "a small red"  # runs of spaces from slugs collapse
    assert len(shorten("x" * 100, 20)) == 20 and shorten("x" * 100, 20).endswith("...")
    assert shorten("abcdefgh ijk", 3) == "abc" and shorten("abcdefgh ijk", 0) == ""


def test_progress_line_counts_the_items_made():
    now = iter([0.0, 10.0, 20.0])
    line = ProgressLine(total=2, clock=lambda: next(now))
    assert line.finish("one", 9.5) == "[1/2] one (9.5 s) - 10.0 s/video, ~10s left"
