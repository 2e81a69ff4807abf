"""Where a Sprites network's files are: ``<stem>.safetensors`` with its ``<stem>.json`` card."""

from __future__ import annotations

from pathlib import Path


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
