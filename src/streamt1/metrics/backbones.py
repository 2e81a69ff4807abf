"""The image backbones VBench scores with, rebuilt in plain torch and loaded from the released files.

VBench gets them from torch.hub (DINO) and ``openai-clip``; neither is needed here. Each network is
written top-down with the released parameter names, so the released file loads strictly:

* :class:`DinoViT`: facebookresearch/dino's ``VisionTransformer`` (``dino_vitbase16_pretrain.pth``,
  a bare state dict: ``cls_token``, ``pos_embed``, ``patch_embed.proj``, ``blocks.N.{norm1, attn.qkv,
  attn.proj, norm2, mlp.fc1, mlp.fc2}``, ``norm``; LayerNorm eps 1e-6, exact GELU, 64-dim heads).
  Its forward returns the normed CLS token, with DINO's bicubic position-embedding interpolation
  (the ``+ 0.1`` on the grid) for non-square frames.
* :class:`ClipVisual`: OpenAI CLIP's image tower (``visual.*`` of ``ViT-B-32.pt`` / ``ViT-L-14.pt``):
  ``conv1`` (no bias), ``class_embedding``, ``positional_embedding``, ``ln_pre``,
  ``transformer.resblocks.N.{attn (in_proj / out_proj), ln_1, mlp.c_fc, mlp.c_proj, ln_2}``,
  ``ln_post``, ``proj``; QuickGELU, 64-dim heads. :meth:`ClipVisual.openai_half` reproduces what
  ``clip.load`` does on a GPU: matrices in fp16, LayerNorms computed in fp32.

OpenAI's ``.pt`` files are TorchScript archives. ``torch.load(weights_only=True)`` refuses them and
``torch.jit.load`` compiles the archive's TorchScript code and runs its ``__setstate__`` methods, so
:func:`read_torchscript_tensors` reads the archive's ``data.pkl`` with an unpickler that knows only
module records, tensors and their storages: weights come out, no code is compiled or run.
"""

from __future__ import annotations

import math
import pickle
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from streamt1.models.checkpoints import CheckpointError, load_checked, read_state_dict, require_file

HEAD_DIM = 64  # every DINO and OpenAI CLIP ViT uses 64-dim attention heads
DINO_LN_EPS = 1e-6


# ---------------------------------------------------------------------------------------------
# DINO ViT (facebookresearch/dino vision_transformer.py)


class DinoAttention(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.heads = dim // HEAD_DIM
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)  # 3x[B, h, N, d]
        out = F.scaled_dot_product_attention(q, k, v)  # [B, h, N, d]
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class DinoMlp(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class DinoBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=DINO_LN_EPS)
        self.attn = DinoAttention(dim)
        self.norm2 = nn.LayerNorm(dim, eps=DINO_LN_EPS)
        self.mlp = DinoMlp(dim)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class DinoPatchEmbed(nn.Module):
    def __init__(self, dim: int, patch: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)


class DinoViT(nn.Module):
    """DINO's ViT; ``forward`` maps images ``[B, 3, H, W]`` to the normed CLS feature ``[B, dim]``."""

    def __init__(self, dim: int, depth: int, patch: int, grid: int):
        super().__init__()
        self.patch = patch
        self.patch_embed = DinoPatchEmbed(dim, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
        self.blocks = nn.ModuleList(DinoBlock(dim) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=DINO_LN_EPS)

    @classmethod
    def from_state_dict(cls, sd: Mapping[str, Tensor]) -> DinoViT:
        dim = sd["cls_token"].shape[-1]
        depth = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
        grid = math.isqrt(sd["pos_embed"].shape[1] - 1)
        return cls(dim, depth, sd["patch_embed.proj.weight"].shape[-1], grid)

    def position_embedding(self, rows: int, cols: int) -> Tensor:
        """DINO's ``interpolate_pos_encoding``: bicubic by scale factor, the grid nudged by 0.1."""
        grid = math.isqrt(self.pos_embed.shape[1] - 1)
        if rows == cols == grid:
            return self.pos_embed
        dim = self.pos_embed.shape[-1]
        patches = self.pos_embed[:, 1:].reshape(1, grid, grid, dim).permute(0, 3, 1, 2)  # [1, D, g, g]
        # The 0.1 avoids a floating point error that would give one row / column too few.
        scale = ((rows + 0.1) / grid, (cols + 0.1) / grid)
        patches = F.interpolate(patches, scale_factor=scale, mode="bicubic")  # [1, D, rows, cols]
        if patches.shape[-2:] != (rows, cols):
            raise ValueError(f"position grid {tuple(patches.shape[-2:])} != patch grid {(rows, cols)}")
        return torch.cat([self.pos_embed[:, :1], patches.permute(0, 2, 3, 1).reshape(1, rows * cols, dim)], 1)

    def forward(self, images: Tensor) -> Tensor:
        _, _, h, w = images.shape
        x = self.patch_embed.proj(images).flatten(2).transpose(1, 2)  # [B, N, D]
        x = torch.cat([self.cls_token.expand(len(x), -1, -1), x], dim=1)  # [B, 1 + N, D]
        x = x + self.position_embedding(h // self.patch, w // self.patch)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, 0]


# ---------------------------------------------------------------------------------------------
# OpenAI CLIP image tower (openai/CLIP model.py VisionTransformer)


class Fp32LayerNorm(nn.LayerNorm):
    """CLIP's LayerNorm: computed in fp32 whatever the input dtype, returned in the input dtype."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.float()).to(x.dtype)


class ClipMlp(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x: Tensor) -> Tensor:
        h = self.c_fc(x)
        return self.c_proj(h * torch.sigmoid(1.702 * h))  # QuickGELU


class ClipBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, width // HEAD_DIM)
        self.ln_1 = Fp32LayerNorm(width)
        self.mlp = ClipMlp(width)
        self.ln_2 = Fp32LayerNorm(width)

    def forward(self, x: Tensor) -> Tensor:  # [N, B, W], sequence first as in CLIP
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class ClipTransformer(nn.Module):
    def __init__(self, width: int, layers: int):
        super().__init__()
        self.resblocks = nn.ModuleList(ClipBlock(width) for _ in range(layers))


class ClipVisual(nn.Module):
    """CLIP's ``encode_image``: images ``[B, 3, S, S]`` (normalised) -> embeddings ``[B, E]``."""

    def __init__(self, width: int, layers: int, patch: int, grid: int, embed: int):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros(grid * grid + 1, width))
        self.ln_pre = Fp32LayerNorm(width)
        self.transformer = ClipTransformer(width, layers)
        self.ln_post = Fp32LayerNorm(width)
        self.proj = nn.Parameter(torch.zeros(width, embed))
        self.input_resolution = patch * grid

    @classmethod
    def from_state_dict(cls, sd: Mapping[str, Tensor]) -> ClipVisual:
        width, _, patch, _ = sd["conv1.weight"].shape
        layers = len({k.split(".")[2] for k in sd if k.startswith("transformer.resblocks.")})
        grid = math.isqrt(sd["positional_embedding"].shape[0] - 1)
        return cls(width, layers, patch, grid, sd["proj"].shape[1])

    def openai_half(self) -> ClipVisual:
        """fp16 as ``clip.load`` leaves the model on a GPU: conv, linear, attention and ``proj``;
        LayerNorms and the two embeddings stay fp32 (they are cast to the input dtype when used)."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear, nn.MultiheadAttention)):
                module.half()
        self.proj.data = self.proj.data.half()
        return self

    @property
    def dtype(self) -> torch.dtype:
        return self.conv1.weight.dtype

    def forward(self, images: Tensor) -> Tensor:
        x = self.conv1(images.to(self.dtype)).flatten(2).transpose(1, 2)  # [B, N, W]
        cls = self.class_embedding.to(x.dtype).expand(len(x), 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)  # [B, 1 + N, W]
        x = self.ln_pre(x).transpose(0, 1)  # [1 + N, B, W]
        for block in self.transformer.resblocks:
            x = block(x)
        return self.ln_post(x[0]) @ self.proj  # [B, E]


# ---------------------------------------------------------------------------------------------
# Reading the released files


class _ScriptRecord:
    """A TorchScript module or object in ``data.pkl``: only its attribute dict is kept."""

    def __setstate__(self, state: dict) -> None:
        self.attributes = state


def _rebuild_tensor(storage: Tensor, offset: int, size: tuple, stride: tuple, *_: object) -> Tensor:
    return storage.as_strided(size, stride, offset)


_STORAGE_DTYPES = {
    f"{name}Storage": dtype
    for name, dtype in (("Float", torch.float32), ("Half", torch.float16), ("BFloat16", torch.bfloat16),
                        ("Double", torch.float64), ("Long", torch.int64), ("Int", torch.int32),
                        ("Byte", torch.uint8), ("Bool", torch.bool))
}


class _Inert:
    """Stands for an object a weights reader does not need: built from nothing, calls nothing."""

    def __init__(self, *args: object, **kwargs: object):
        pass

    def __setstate__(self, state: object) -> None:
        pass


def _rebuild_parameter(data: Tensor, *_: object) -> Tensor:
    return data


class _ArchiveUnpickler(pickle.Unpickler):
    """Knows module records, tensors and storages. Any other global is refused, or with
    ``lenient`` replaced by an inert stand-in (never imported, never called)."""

    def __init__(self, archive: zipfile.ZipFile, prefix: str, source: Path, lenient: bool = False):
        super().__init__(archive.open(f"{prefix}data.pkl"))
        self.archive, self.prefix, self.source, self.lenient = archive, prefix, source, lenient

    def find_class(self, module: str, name: str) -> object:
        if module.startswith("__torch__"):
            return _ScriptRecord
        known = {("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
                 ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
                 ("collections", "OrderedDict"): OrderedDict}
        if (module, name) in known:
            return known[module, name]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        if self.lenient:
            return _Inert
        raise CheckpointError(f"{self.source}: the archive refers to {module}.{name}, which a weights "
                              "reader does not load; re-save the weights as a state dict")

    def persistent_load(self, pid: tuple) -> Tensor:
        _, dtype, key, _, _ = pid  # ('storage', dtype, key, location, numel)
        data = bytearray(self.archive.read(f"{self.prefix}data/{key}"))
        return torch.frombuffer(data, dtype=dtype) if data else torch.empty(0, dtype=dtype)


def _archive_root(path: Path, lenient: bool) -> object:
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise CheckpointError(f"{path}: not a torch zip archive (expected one <name>/data.pkl)")
        try:
            return _ArchiveUnpickler(archive, pickles[0][: -len("data.pkl")], path, lenient).load()
        except (pickle.UnpicklingError, TypeError, AttributeError, ValueError, KeyError) as err:
            raise CheckpointError(f"{path}: cannot read its tensors ({type(err).__name__}: {err})") from err


def _flatten(record: _ScriptRecord, prefix: str, out: dict[str, Tensor]) -> None:
    for name, value in record.attributes.items():
        if isinstance(value, Tensor):
            out[prefix + name] = value
        elif isinstance(value, _ScriptRecord):
            _flatten(value, f"{prefix}{name}.", out)


def read_torchscript_tensors(path: str | Path) -> dict[str, Tensor]:
    """Every tensor of a TorchScript archive, by its ``state_dict`` name, without running its code."""
    path = require_file(path)
    root = _archive_root(path, lenient=False)
    if not isinstance(root, _ScriptRecord):
        raise CheckpointError(f"{path}: the archive's data.pkl does not hold a module")
    tensors: dict[str, Tensor] = {}
    _flatten(root, "", tensors)
    return tensors


def read_tensors_leniently(path: str | Path) -> object:
    """The object of a ``torch.save`` zip file with its tensors; other objects in it (training
    state, NumPy scalars ...) become inert stand-ins instead of being rebuilt by their code."""
    path = require_file(path)
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a torch zip archive; re-save it with a recent torch.save")
    return _archive_root(path, lenient=True)


def read_any_checkpoint(path: str | Path) -> dict[str, Tensor]:
    """A state dict from a TorchScript archive (OpenAI CLIP) or a plain torch / safetensors file."""
    path = require_file(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if any(n.endswith("constants.pkl") for n in archive.namelist()):
                return read_torchscript_tensors(path)
    return read_state_dict(path, wrappers=())


def load_dino_vit(path: str | Path, device: torch.device | str = "cpu") -> DinoViT:
    """DINO ViT from ``dino_vitbase16_pretrain.pth`` (or any DINO ViT checkpoint), in fp32 as VBench runs it."""
    sd = read_any_checkpoint(path)
    if "cls_token" not in sd:
        raise CheckpointError(f"{path}: not a DINO ViT state dict (no 'cls_token')")
    model = DinoViT.from_state_dict(sd)
    load_checked(model, {k: v.float() for k, v in sd.items()}, path)
    return model.eval().to(device)


def load_clip_visual(path: str | Path, device: torch.device | str = "cpu", *, half: bool = False) -> ClipVisual:
    """The image tower of an OpenAI CLIP file (``ViT-B-32.pt``, ``ViT-L-14.pt``), fp32 or OpenAI's fp16.

    ``clip.load`` always builds the model through ``build_model``, which casts its matrices to fp16,
    and on the CPU casts back to fp32: the fp32 path rounds the same weights to fp16 first (a no-op for
    OpenAI's files, stored in fp16; not for an fp32 re-export).
    """
    sd = read_any_checkpoint(path)
    visual = {k.removeprefix("visual."): v.float() for k, v in sd.items() if k.startswith("visual.")}
    if "conv1.weight" not in visual:
        raise CheckpointError(f"{path}: not an OpenAI CLIP ViT (no 'visual.conv1.weight')")
    model = ClipVisual.from_state_dict(visual)
    load_checked(model, visual, path)
    model = model.eval().openai_half()
    return (model if half else model.float()).to(device)


def load_linear_head(path: str | Path, device: torch.device | str = "cpu") -> nn.Linear:
    """A ``nn.Linear`` state dict such as LAION's ``sa_0_4_vit_l_14_linear.pth`` (768 -> 1)."""
    sd = read_any_checkpoint(path)
    if set(sd) != {"weight", "bias"} or sd["weight"].ndim != 2:
        raise CheckpointError(f"{path}: not a linear layer's state dict (expected 'weight' [out, in] and 'bias')")
    out_features, in_features = sd["weight"].shape
    head = nn.Linear(in_features, out_features)
    load_checked(head, {k: v.float() for k, v in sd.items()}, path)
    return head.eval().to(device)
