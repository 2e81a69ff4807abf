"""Random VBench weights in the released file formats, full size or tiny, for the VBench benchmarks.

The files go to VBench's cache layout (``streamt1.metrics.vbench.*_FILE``) in the containers the
releases use: bare state dicts (DINO, MUSIQ, the LAION head), ``{"state_dict": ...}`` (AMT-S), a
``DataParallel`` state dict (RAFT, ``module.*``) and a TorchScript archive holding ``visual.*`` (CLIP).
The networks are our own modules, whose parameter names the tests check against the releases; weights
are random (they do not change the cost; ``vbench_agreement.py`` loads the same files into the
reference code).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from streamt1.metrics import vbench
from streamt1.metrics.amt import AmtS
from streamt1.metrics.backbones import ClipVisual, DinoViT
from streamt1.metrics.musiq import Musiq
from streamt1.metrics.raft import Raft

# (dim, depth) / (width, layers, patch, grid, embed) / (dim, mlp, layers): the released networks and tiny ones
SIZES = {
    "full": {"dino": (768, 12), "clip_b32": (768, 12, 32, 7, 512), "clip_l14": (1024, 24, 14, 16, 768),
             "musiq": (384, 1152, 14)},
    "tiny": {"dino": (128, 2), "clip_b32": (64, 1, 32, 7, 32), "clip_l14": (64, 1, 14, 16, 48),
             "musiq": (64, 96, 1)},
}
DINO_PATCH, DINO_GRID = 16, 14
NORM_NAMES = ("norm", "ln_", "gn", "bn")


def randomise_(module: nn.Module, seed: int) -> nn.Module:
    """Random weights that keep activations O(1): matrices N(0, 1/fan_in), embeddings N(0, 1),
    norm scales 1 + N(0, 0.1), biases N(0, 0.1), BatchNorm running variances in [0.5, 1.5]."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():  # the tensors of the module, not copies
            if not t.is_floating_point():
                continue
            noise = torch.randn(t.shape, generator=g)
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "running_var":
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif t.ndim >= 2 and leaf.endswith("weight"):  # nn.MultiheadAttention's in_proj_weight too
                t.copy_(noise * t[0].numel() ** -0.5)
            elif t.ndim >= 2 or leaf not in ("weight", "bias"):
                t.copy_(noise)  # embeddings, class tokens, projections
            elif leaf == "weight" and any(n in name for n in NORM_NAMES):
                t.copy_(1 + 0.1 * noise)
            else:
                t.copy_(0.1 * noise)
    return module.eval()


class _OpenAIClipFile(nn.Module):
    """What a reader of OpenAI's archive sees of it: the image tower under ``visual``."""

    def __init__(self, visual: ClipVisual):
        super().__init__()
        self.visual = visual

    def forward(self, images: Tensor) -> Tensor:
        return self.visual(images)


def write_clip_archive(path: Path, visual: ClipVisual) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    size = visual.input_resolution
    torch.jit.save(torch.jit.trace(_OpenAIClipFile(visual), torch.zeros(1, 3, size, size)), str(path))


def _save(obj: object, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)


def write_weights(root: Path, size: str = "full", seed: int = 0) -> Path:
    """Every file ``streamt1.metrics.vbench`` reads, with random weights; returns ``root``."""
    dims = SIZES[size]
    dino = randomise_(DinoViT(*dims["dino"], DINO_PATCH, DINO_GRID), seed)
    _save(dino.state_dict(), root / vbench.DINO_FILE)
    for key, relative in (("clip_b32", vbench.CLIP_B32_FILE), ("clip_l14", vbench.CLIP_L14_FILE)):
        write_clip_archive(root / relative, randomise_(ClipVisual(*dims[key]), seed + 1))
    head = randomise_(nn.Linear(dims["clip_l14"][-1], 1), seed + 2)
    _save(head.state_dict(), root / vbench.AESTHETIC_FILE)
    _save(randomise_(Musiq(*dims["musiq"]), seed + 3).state_dict(), root / vbench.MUSIQ_FILE)
    _save({"state_dict": randomise_(AmtS(), seed + 4).state_dict()}, root / vbench.AMT_FILE)
    _save({f"module.{k}": v for k, v in randomise_(Raft(), seed + 5).state_dict().items()}, root / vbench.RAFT_FILE)
    return root
