"""Where a Sprites network's files are: ``<stem>.safetensors`` with its ``<stem>.json`` card."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from safetensors import SafetensorError


def weights_and_card(path: str | Path, stem: str, what: str, train_module: str) -> tuple[Path, Path]:
    """The weights and card for ``path`` (a folder, or the ``.safetensors`` file itself).

    A missing file raises ``FileNotFoundError`` naming it and the script that makes it.
    """
    path = Path(path)
    weights = path if path.suffix == ".safetensors" else path / f"{stem}.safetensors"
    card = weights.with_suffix(".json")
    for needed in (weights, card):
        if not needed.is_file():
            raise FileNotFoundError(
                f"{needed} not found; train {what} with `python -m {train_module} --out {weights.parent}`"
            )
    return weights, card


@contextmanager
def readable_weights(folder: str | Path) -> Iterator[None]:
    """Turn the errors of reading a damaged weights file into one ValueError saying what to do."""
    try:
        yield
    except (SafetensorError, json.JSONDecodeError, KeyError, RuntimeError) as err:
        raise ValueError(f"the Sprites weights in {folder} are corrupt or incomplete ({err}); "
                         "re-copy them or retrain with `streamt1 sprites train`") from None
