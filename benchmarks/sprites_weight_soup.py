"""Two Sprites models of one architecture mixed weight by weight: (1 - share) * BASE + share * OTHER.

    python benchmarks/sprites_weight_soup.py --base runs/OF2 --other runs/OW5 --share 0.5 --out runs/SP50

A candidate fine-tuned from BASE (e.g. on its own states) may gain on one metric and lose on another;
the straight line between the two sets of weights trades the gain against the loss without training
(both descend from the same run, so the line stays in one basin). The mixed model keeps BASE's card
(sampling and text settings) with ``training.soup`` saying what was mixed; the learned codec, frozen in
training, must be the same in both and is kept as it is.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from streamt1.sprites.model import SpritesVideoModel


def mix(base: SpritesVideoModel, other: SpritesVideoModel, share: float) -> SpritesVideoModel:
    """``base`` with every weight moved ``share`` of the way to ``other``'s (in place; returned)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"--share {share}: give a number from 0 (BASE) to 1 (OTHER)")
    theirs = other.state_dict()
    ours = base.state_dict()
    if ours.keys() != theirs.keys() or any(ours[k].shape != theirs[k].shape for k in ours):
        raise ValueError("the two models differ in architecture: only weights of one config can be mixed")
    for name, tensor in ours.items():
        if name.startswith("autoencoder."):
            if not torch.equal(tensor, theirs[name]):
                raise ValueError(f"the two models' codecs differ ({name}): mix only models of one codec")
            continue
        tensor.lerp_(theirs[name].to(tensor.dtype), share)
    return base


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", required=True, help="folder of the first model (share 0)")
    p.add_argument("--other", required=True, help="folder of the second model (share 1)")
    p.add_argument("--share", type=float, required=True, help="how far towards OTHER, 0 to 1")
    p.add_argument("--out", required=True, help="folder for the mixed model")
    args = p.parse_args(argv)
    base = SpritesVideoModel.from_pretrained(args.base)
    other = SpritesVideoModel.from_pretrained(args.other)
    card = json.loads((Path(args.base) / "sprites_model.json").read_text())
    mixed = mix(base, other, args.share)
    training = {**card.get("training", {}),
                "soup": {"base": args.base, "other": args.other, "share": args.share,
                         "command": "python benchmarks/sprites_weight_soup.py --base {} --other {} --share {} "
                                    "--out {}".format(args.base, args.other, args.share, args.out),
                         "other_training": json.loads((Path(args.other) / "sprites_model.json").read_text())
                         .get("training", {})}}
    print(f"wrote {mixed.save_pretrained(args.out, {'training': training})}")


if __name__ == "__main__":
    main()
