"""Where a Sprites network's files are: ``<stem>.safetensors`` with its ``<stem>.json`` card."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from safetensors import SafetensorError


def weights_and_card(path: str | Path, stem: str, what: str, train_command: str) -> tuple[Path, Path]:
    """The weights and card for ``path`` (a folder, or the ``.safetensors`` file itself).

    A missing file raises ``FileNotFoundError`` naming it and the command that makes it.
    """
    path = Path(path)
    if path.suffix != ".safetensors" and not path.is_dir():
        if path.exists():  # a file of another kind: no folder to train into either
            raise FileNotFoundError(f"{path} is neither a folder nor a .safetensors file: give the folder that holds "
                                    f"{stem}.safetensors (or that file itself)")
        raise FileNotFoundError(f"no folder at {path}: give the folder that holds {stem}.safetensors, or train "
                                f"{what} into it with `{train_command} --out {path}`")
    weights = path if path.suffix == ".safetensors" else path / f"{stem}.safetensors"
    card = weights.with_suffix(".json")
    for needed in (weights, card):
        if not needed.is_file():
            raise FileNotFoundError(f"{needed} not found; train {what} with `{train_command} --out {weights.parent}`")
    return weights, card


@contextmanager
def readable_weights(weights: Path, card: Path, train_command: str) -> Iterator[None]:
    """Turn the errors of reading a damaged weights file or card into one ValueError naming the file
    and the command that remakes it."""
    try:
        yield
    except SafetensorError as err:
        raise ValueError(f"{weights} is corrupt or incomplete ({err}); re-copy it or retrain with "
                         f"`{train_command} --out {weights.parent}`") from None
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{card} is corrupt or incomplete ({type(err).__name__}: {err}); re-copy it or retrain "
                         f"with `{train_command} --out {weights.parent}`") from None
