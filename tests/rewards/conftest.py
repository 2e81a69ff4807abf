import pytest

from qwen_fixtures import build_hpsv3, build_videoalign


@pytest.fixture(scope="session")
def hpsv3_release(tmp_path_factory):
    return build_hpsv3(tmp_path_factory.mktemp("hpsv3"))


@pytest.fixture(scope="session")
def videoalign_release(tmp_path_factory):
    return build_videoalign(tmp_path_factory.mktemp("videoalign"))


@pytest.fixture(scope="session")
def hpsv3_reward(hpsv3_release):
    from streamt1.rewards import hpsv3

    return hpsv3.load(hpsv3_release.path, max_batch=2)


@pytest.fixture(scope="session")
def videoalign_reward(videoalign_release):
    from streamt1.rewards import videoalign

    return videoalign.load(videoalign_release.path, max_batch=2)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Every reward test runs its tiny models on one thread (thread hand-offs cost more than the maths on
    the shared cores); restored after each module, so tests elsewhere keep their thread count."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
