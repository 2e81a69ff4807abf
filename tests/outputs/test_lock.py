"""``outputs.lock``: one writer per results folder."""

import os
import subprocess
import sys

import pytest

from streamt1.config import ConfigError
from streamt1.outputs.lock import LOCK_FILE, folder_lock


def test_a_second_writer_is_refused_while_the_first_lives_and_a_dead_ones_lock_is_taken_over(tmp_path):
    out = tmp_path / "ev"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out.mkdir()
        (out / LOCK_FILE).write_text(str(holder.pid))  # a live process holds the folder
        with pytest.raises(ConfigError, match=rf"{out} is being written by another test run \(process {holder.pid}\); "
                                              "wait for it to finish, or use another folder"):
            with folder_lock(out, "test run", "use another folder"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with folder_lock(out, "test run", "use another folder"):  # its process is gone: taken over
        assert (out / LOCK_FILE).read_text() == str(os.getpid())
    assert not (out / LOCK_FILE).exists() and out.is_dir()  # released; the folder it found stays


def test_a_run_that_stops_in_a_folder_it_made_leaves_nothing(tmp_path):
    with pytest.raises(ConfigError):
        with folder_lock(tmp_path / "new", "test run", "use another folder"):
            raise ConfigError("refused before writing anything")
    assert not (tmp_path / "new").exists()
