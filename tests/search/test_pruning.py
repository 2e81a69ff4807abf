import pytest
import torch

from streamt1.search.pruning import fuse, mix_alpha, select_random, select_top_k, standardise


def test_alpha_grows_with_progress_and_is_capped_by_tau():
    # 30 s LongLive: 120 latent frames, 3 per chunk -> progress = start / 117.
    alphas = [mix_alpha(start, 120, 3, 0.4) for start in range(0, 120, 3)]
    assert alphas[0] == 0.0
    assert alphas[1] == pytest.approx(3 / 117)
    assert max(alphas) == 0.4
    assert all(b >= a for a, b in zip(alphas, alphas[1:]))
    # Capped from the frame where progress passes tau.
    assert mix_alpha(45, 120, 3, 0.4) == pytest.approx(45 / 117)
    assert mix_alpha(48, 120, 3, 0.4) == 0.4


def test_alpha_of_a_single_chunk_video_is_zero():
    assert mix_alpha(0, 3, 3, 0.4) == 0.0


def test_tau_zero_means_long_reward_only():
    short, long = torch.tensor([5.0, -1.0]), torch.tensor([0.1, 0.3])
    assert torch.equal(fuse(short, long, mix_alpha(60, 120, 3, 0.0)), long)


def test_raw_fusion_is_the_weighted_sum():
    short, long = torch.tensor([2.0, 4.0]), torch.tensor([1.0, -1.0])
    assert torch.allclose(fuse(short, long, 0.25), torch.tensor([1.25, 0.25]))


def test_zscore_fusion_is_invariant_to_each_rewards_units():
    short = torch.tensor([1.0, 2.0, 3.0, 4.0])
    long = torch.tensor([0.4, 0.1, 0.3, 0.2])
    a = fuse(short, long, 0.3, "zscore")
    b = fuse(short * 1000 + 7, long * 0.01 - 3, 0.3, "zscore")
    assert torch.allclose(a, b, atol=1e-3)
    # Raw fusion lets the larger-scaled reward dominate; z-scores do not.
    assert select_top_k(fuse(short * 1000, long, 0.3), 1).item() == 3
    assert select_top_k(b, 1).item() == 0


def test_standardise_of_a_constant_pool_is_zero():
    assert torch.equal(standardise(torch.full((4,), 2.5)), torch.zeros(4))


def test_unknown_fusion_is_rejected():
    with pytest.raises(ValueError, match="fusion='max'"):
        fuse(torch.zeros(2), torch.zeros(2), 0.5, "max")


def test_top_k_orders_best_first_and_breaks_ties_by_index():
    scores = torch.tensor([0.5, 0.9, 0.5, 0.9, 0.1])
    assert select_top_k(scores, 2).tolist() == [1, 3]
    assert select_top_k(scores, 4).tolist() == [1, 3, 0, 2]
    assert select_top_k(torch.zeros(3), 2).tolist() == [0, 1]


def test_random_selection_is_distinct_and_seeded():
    a = select_random(8, 3, torch.Generator().manual_seed(0))
    b = select_random(8, 3, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    assert len(set(a.tolist())) == 3


def test_a_score_the_reward_could_not_read_ranks_last():
    nan = float("nan")
    assert select_top_k(torch.tensor([0.9, nan, 0.5, 0.1]), 2).tolist() == [0, 2]
    assert select_top_k(torch.tensor([nan, nan, -3.0]), 3).tolist() == [2, 0, 1]
    # one NaN must not zero the rest of the pool's z-scores (a NaN std used to map all of them to 0)
    z = standardise(torch.tensor([1.0, 2.0, nan, 4.0]))
    assert torch.isnan(z[2]) and torch.allclose(z[[0, 1, 3]], standardise(torch.tensor([1.0, 2.0, 4.0])))
    fused = fuse(torch.tensor([1.0, 2.0, nan, 4.0]), torch.tensor([0.0, 0.0, 0.0, 1.0]), 0.5, "zscore")
    assert select_top_k(fused, 4).tolist() == [3, 1, 0, 2]
    assert torch.isnan(standardise(torch.tensor([nan, nan]))).all()
