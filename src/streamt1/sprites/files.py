"""A Sprites network's files: ``<stem>.safetensors`` with its ``<stem>.json`` card, where they are, how they are
written and read back."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from safetensors import SafetensorError
from safetensors.torch import load, save
from torch import Tensor

from streamt1.outputs.atomic import atomic_write_bytes, atomic_write_json

# The card's record of its weights file: a copy damaged inside (its size and header intact) loads without an
# error and draws noise, so the file is checked against it before its tensors are read.
DIGEST_KEY = "weights_sha256"


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


def file_digest(path: Path) -> str:
    """The sha256 of the file at ``path``, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_weights(tensors: dict[str, Tensor], weights: Path, card: dict) -> Path:
    """Write ``weights`` and then its card (``card`` and the weights' digest) beside it, each atomically."""
    data = save(tensors)
    atomic_write_bytes(weights, data)
    atomic_write_json(weights.with_suffix(".json"), {**card, DIGEST_KEY: hashlib.sha256(data).hexdigest()})
    return weights


def load_weights(weights: Path, card: dict, train_command: str) -> dict[str, Tensor]:
    """The tensors of ``weights``, read once and checked against the digest its ``card`` records (cards written
    before the digest have none and are not checked)."""
    data = weights.read_bytes()
    recorded = card.get(DIGEST_KEY)
    if recorded is not None and hashlib.sha256(data).hexdigest() != recorded:
        raise ValueError(f"{weights} does not match the checksum in its card {weights.with_suffix('.json')}: the file "
                         f"is corrupt or was changed after it was saved; re-copy it or retrain with "
                         f"`{train_command} --out {weights.parent}`")
    return load(data)
