import itertools

import pytest
import torch

from streamt1.sprites.training import ReplayPool, SampleStream, lr_factor, run_progress, sample_loader, training_parser


def test_learning_rate_warms_up_then_decays():
    assert 0 < lr_factor(0.0) < lr_factor(0.04) < lr_factor(0.05) == 1.0
    assert lr_factor(0.3) > lr_factor(0.6) > lr_factor(0.9) > lr_factor(1.0) == pytest.approx(0.1)


def test_progress_follows_whichever_limit_comes_first():
    assert run_progress(250, 1000, 1e6, None) == 0.25
    assert run_progress(10, 1000, 30.0, 1.0) == 0.5  # half the time is gone long before half the steps
    assert run_progress(500, 1000, 1.0, 1.0) == 0.5


def _draw(g: torch.Generator) -> int:
    return int(torch.randint(10**9, (1,), generator=g))


def test_sample_stream_is_seeded_and_batched_by_the_loader():
    first = list(itertools.islice(SampleStream(_draw, seed=3), 5))
    assert first == list(itertools.islice(SampleStream(_draw, seed=3), 5))
    assert first != list(itertools.islice(SampleStream(_draw, seed=4), 5))
    batch = next(iter(sample_loader(SampleStream(_draw, seed=3), 4, workers=0, device=torch.device("cpu"))))
    assert batch.tolist() == first[:4]


def test_training_parser_takes_the_config_defaults():
    class Defaults:
        steps, batch_size, lr, workers, seed = 7, 3, 0.5, 2, 9

    args = training_parser("x", "out folder", Defaults).parse_args(["--out", "d", "--max-minutes", "1.5"])
    assert (args.steps, args.batch_size, args.lr, args.workers, args.seed) == (7, 3, 0.5, 2, 9)
    assert args.max_minutes == 1.5


def test_replay_pool_keeps_the_newest_items_together():
    pool = ReplayPool(4)
    for start in (0, 3):  # 6 items through a pool of 4: items 0 and 1 are overwritten
        frames = torch.arange(start, start + 3).float().view(3, 1).expand(3, 2)
        pool.add(frames, frames[:, None] * -1, torch.zeros(3, 0), frames[:, :1].long() * 10,
                 [f"p{i}" for i in range(start, start + 3)])
    assert pool.size == 4
    frames, maps, empty, positions, prompts = pool.sample(64, torch.Generator().manual_seed(0))
    ids = frames[:, 0].long().tolist()
    assert set(ids) == {2, 3, 4, 5}  # every tensor and the captions stay matched
    assert maps.shape == (64, 1, 2) and (maps[:, 0, 0] == -frames[:, 0]).all() and empty.shape == (64, 0)
    assert positions[:, 0].tolist() == [10 * i for i in ids] and prompts == [f"p{i}" for i in ids]
    with pytest.raises(ValueError, match="empty"):
        ReplayPool(2).sample(1, torch.Generator())



def test_a_loader_workers_lost_connection_to_the_ended_main_process_prints_nothing_and_other_errors_print(capsys):
    # a stop of the whole group: the main process saves and exits while a worker's resource sharer may be handing
    # it a batch; the sharer reports the reset connection through sys.excepthook, which must not print a traceback
    # over the clean stop
    from streamt1.sprites.training import _quiet_when_main_is_gone

    for error in (ConnectionResetError(104, "Connection reset by peer"), BrokenPipeError(), EOFError(),
                  ValueError("a bug")):
        try:
            raise error
        except BaseException as caught:
            _quiet_when_main_is_gone(type(caught), caught, caught.__traceback__)
    err = capsys.readouterr().err
    assert "ValueError: a bug" in err and "Traceback" in err
    assert "Connection" not in err and "BrokenPipe" not in err and "EOFError" not in err
