"""``benchmarks/sprites_likelihood_reward.py``: the video model's own denoising error as a sibling score."""

import torch

from streamt1.sprites.model import SpritesVideoModel
from streamt1.sprites.siblings import SiblingGroup
from streamt1.sprites.world import FRAME_SIZE


def _group(chunks: torch.Tensor, histories: torch.Tensor, parents: list[int]) -> SiblingGroup:
    n = chunks.shape[0]
    zeros = {k: torch.zeros(n, dtype=torch.float64) for k in ("subject_consistency", "text_alignment")}
    return SiblingGroup(prompt="a small red circle moves left over a blue background", fps=16.0, chunk_index=1,
                        start_frame=histories.shape[1], num_frames=9, chunk_frames=3, short_frame_stride=1,
                        parents=torch.tensor(parents), chunks=chunks, histories=histories, window_metrics=zeros,
                        chunk_metrics={}, recorded_fused=torch.zeros(n))


def test_siblings_share_their_noise_so_equal_frames_score_equal(sprites_weights, load_benchmark, monkeypatch):
    monkeypatch.syspath_prepend(str(load_benchmark.__globals__["BENCHMARKS"]))  # its sibling module
    script = load_benchmark("sprites_likelihood_reward")
    model = SpritesVideoModel.from_pretrained(sprites_weights).eval()
    size = FRAME_SIZE  # the world's frames, which the model's spatial embedding covers
    g = torch.Generator().manual_seed(0)
    chunk = torch.randint(0, 256, (3, 3, size, size), generator=g, dtype=torch.uint8)
    other = torch.randint(0, 256, (3, 3, size, size), generator=g, dtype=torch.uint8)
    histories = torch.randint(0, 256, (1, 3, 3, size, size), generator=g, dtype=torch.uint8)
    group = _group(torch.stack([chunk, chunk, other]), histories, [0, 0, 0])
    scores = script.model_scores(model, group, [0.4, 0.6], seed=0, text_cache={})
    assert set(scores) == {"likelihood", "caption gain"}
    for values in scores.values():
        assert len(values) == 3 and all(torch.isfinite(torch.tensor(values)))
        assert values[0] == values[1] != values[2]  # the same frames under the same noise: the same score
    assert scores["likelihood"][0] < 0  # minus a squared error
    assert script.zscores([2.0, 2.0]).tolist() == [0.0, 0.0] and script.zscores([1.0, 3.0]).tolist() == [-1.0, 1.0]
