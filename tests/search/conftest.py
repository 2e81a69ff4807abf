import pytest

from search_fixtures import make_generator


@pytest.fixture(scope="module")
def generator():
    return make_generator()
