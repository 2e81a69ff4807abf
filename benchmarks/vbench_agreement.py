"""Our VBench networks against the reference code, on the same random weights and the same inputs (CPU).

Random weights are written once in the released formats (``vbench_files.py``; CLIP as an OpenAI
TorchScript archive written from openai/CLIP's own ``CLIP`` class, text tower included) and loaded by
both sides: ours through ``streamt1.metrics``, the reference through its own code and its own loading
steps. Nothing of the reference code is in this repository: give paths to local checkouts.

* DINO (``--dino``, facebookresearch/dino): ``vision_transformer.vit_base(patch_size=16, num_classes=0)``
  + ``load_state_dict(strict=True)``, as ``hubconf.dino_vitb16`` does; one frame per forward, as VBench.
* CLIP (``--clip``, openai/CLIP): ``model.build_model(torch.jit.load(file).state_dict())``, then
  ``.float()`` (``clip.load(jit=False)`` on the CPU) and, as on a GPU, left in fp16.
* MUSIQ (``--pyiqa``, chaofengc/IQA-PyTorch; VBench's environment resolves pyiqa <= 0.1.10):
  ``pyiqa/archs/musiq_arch.MUSIQ(pretrained_model_path=file)`` with ``training = False``, as VBench.
* AMT-S and RAFT (``--vbench``, Vchitect/VBench's vendored copies): ``networks/AMT-S.Model(3, 4, 3)``
  with ``ckpt["state_dict"]``; ``core/raft.RAFT`` with VBench's args and ``module.``-stripped keys;
  each with its own ``InputPadder``.

Shims, only for imports the compared code does not use: dino's ``utils`` (its training stack; the ViT
needs ``trunc_normal_``), pyiqa's registry / downloader and ``torchvision`` (``arch_util`` imports it
for other models), ``imageio`` (AMT's image file helpers), ``scipy`` (RAFT's ``forward_interpolate``).
Packages are mounted as bare namespaces so their ``__init__`` (which imports the whole tool) is not run.

Printed: the max abs difference of each network's output and of each metric's value, where the metric
is our formula code fed by our network or by the reference network (the formulas themselves are
checked against VBench's loops by ``tests/metrics``).

Usage::

    python benchmarks/vbench_agreement.py --vbench VBench --dino dino --clip CLIP --pyiqa IQA-PyTorch
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import tempfile
import types
from argparse import Namespace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).parent))
from vbench_files import randomise_, write_weights  # noqa: E402
from vbench_gpu import moving_video  # noqa: E402

from streamt1.metrics import amt, musiq, raft, vbench  # noqa: E402
from streamt1.metrics.backbones import load_clip_visual  # noqa: E402

FPS = 16.0
CLIP_SIZES = {vbench.CLIP_B32_FILE: dict(embed_dim=512, image_resolution=224, vision_layers=12, vision_width=768,
                                         vision_patch_size=32, context_length=77, vocab_size=49408,
                                         transformer_width=512, transformer_heads=8, transformer_layers=12),
              vbench.CLIP_L14_FILE: dict(embed_dim=768, image_resolution=224, vision_layers=24, vision_width=1024,
                                         vision_patch_size=14, context_length=77, vocab_size=49408,
                                         transformer_width=768, transformer_heads=12, transformer_layers=12)}


# ---------------------------------------------------------------------------------------------
# Importing the reference code from checkouts


def stub(name: str, path: Path | None = None, **attrs: object) -> types.ModuleType:
    """A module in ``sys.modules``: a bare namespace over ``path`` (its ``__init__`` not run), or a shim."""
    module = types.ModuleType(name)
    if path is not None:
        module.__path__ = [str(path)]
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def load_file(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def reference_dino(checkout: Path, file: Path) -> nn.Module:
    saved = sys.modules.get("utils")
    stub("utils", trunc_normal_=nn.init.trunc_normal_)
    try:
        vits = load_file("dino_vision_transformer", checkout / "vision_transformer.py")
    finally:
        sys.modules.pop("utils")
        if saved is not None:
            sys.modules["utils"] = saved
    model = vits.vit_base(patch_size=16, num_classes=0)
    model.load_state_dict(torch.load(file, map_location="cpu"), strict=True)
    return model.eval()


def write_reference_clip(clip_model: types.ModuleType, path: Path, seed: int) -> None:
    """An OpenAI-style archive: openai/CLIP's ``CLIP`` (both towers), random, in fp16 as released, traced."""
    model = randomise_(clip_model.CLIP(**CLIP_SIZES[path.relative_to(path.parents[1]).as_posix()]), seed)
    # The release stores fp16 weights, and build_model rounds to fp16 even where clip.load then runs
    # fp32: keep the random weights fp16-representable (stored as fp32: fp16 kernels are CPU-optional).
    with torch.no_grad():
        for t in model.state_dict().values():
            t.copy_(t.half().float())
    size = model.visual.input_resolution
    traced = torch.jit.trace_module(model, {"encode_image": torch.zeros(1, 3, size, size)})
    torch.jit.save(traced, str(path))


def reference_clip(clip_model: types.ModuleType, file: Path, half: bool) -> nn.Module:
    model = clip_model.build_model(torch.jit.load(str(file), map_location="cpu").state_dict()).eval()
    return model if half else model.float()  # build_model converts to fp16; clip.load floats it on the CPU


def reference_musiq(checkout: Path, file: Path) -> nn.Module:
    pyiqa = checkout / "pyiqa"
    stub("pyiqa", pyiqa)
    stub("pyiqa.archs", pyiqa / "archs")
    stub("pyiqa.data", pyiqa / "data")
    registry = Namespace(register=lambda *a, **k: (lambda obj: obj))
    stub("pyiqa.utils", pyiqa / "utils")
    stub("pyiqa.utils.registry", ARCH_REGISTRY=registry)
    stub("pyiqa.utils.download_util", load_file_from_url=None)
    stub("torchvision", transforms=stub("torchvision.transforms"))
    matlab = stub("pyiqa.matlab_utils", pyiqa / "matlab_utils")
    padding = importlib.import_module("pyiqa.matlab_utils.padding")
    matlab.ExactPadding2d, matlab.exact_padding_2d = padding.ExactPadding2d, padding.exact_padding_2d
    arch = importlib.import_module("pyiqa.archs.musiq_arch")
    model = arch.MUSIQ(pretrained_model_path=str(file))
    model.training = False  # what VBench sets (not .eval())
    return model


def reference_amt(checkout: Path, file: Path) -> tuple[nn.Module, type]:
    root = checkout / "vbench" / "third_party" / "amt"
    stub("vbench", checkout / "vbench")
    stub("vbench.third_party", checkout / "vbench" / "third_party")
    for sub in ("", ".networks", ".networks.blocks", ".utils"):
        stub(f"vbench.third_party.amt{sub}", root / sub.replace(".", "/").lstrip("/"))
    stub("imageio", imread=None, imwrite=None)
    network = importlib.import_module("vbench.third_party.amt.networks.AMT-S")
    padder = importlib.import_module("vbench.third_party.amt.utils.utils").InputPadder
    model = network.Model(corr_radius=3, corr_lvls=4, num_flows=3)
    model.load_state_dict(torch.load(file, map_location="cpu", weights_only=False)["state_dict"])
    return model.eval(), padder


def reference_raft(checkout: Path, file: Path) -> tuple[nn.Module, type]:
    root = checkout / "vbench" / "third_party" / "RAFT"
    stub("vbench.third_party.RAFT", root)
    stub("vbench.third_party.RAFT.core", root / "core")
    stub("scipy", interpolate=None)
    network = importlib.import_module("vbench.third_party.RAFT.core.raft")
    padder = importlib.import_module("vbench.third_party.RAFT.core.utils_core.utils").InputPadder
    model = network.RAFT(Namespace(small=False, mixed_precision=False, alternate_corr=False))
    ckpt = torch.load(file, map_location="cpu")
    model.load_state_dict({k.replace("module.", ""): v for k, v in ckpt.items()})
    return model.eval(), padder


# ---------------------------------------------------------------------------------------------
# Comparisons


class Adapter(nn.Module):
    """A reference network behind the call our metric code makes (and a parameter for its device)."""

    def __init__(self, inner: nn.Module, call):
        super().__init__()
        self.inner, self.call = inner, call

    def forward(self, *args: Tensor) -> Tensor:
        return self.call(self.inner, *args)


class Rows(list):
    """Table rows, also printed as they come (the full-size comparisons take minutes on a CPU)."""

    def append(self, row: str) -> None:
        print(row, flush=True)
        super().append(row)


def max_diff(a: Tensor, b: Tensor) -> str:
    a, b = a.double(), b.double()
    if a.shape != b.shape:
        return f"shapes differ: {list(a.shape)} vs {list(b.shape)}"
    return f"{(a - b).abs().max().item():.3g} (max |ref| {b.abs().max().item():.3g})"


def aesthetic(features: Tensor, backbones: vbench.Backbones) -> float:
    """VBench's aesthetic score from CLIP ViT-L/14 features (the LAION head on normalised features)."""
    head = backbones.aesthetic_head
    return vbench.frame_mean(head(F.normalize(features, dim=-1)).squeeze(-1) / vbench.AESTHETIC_SCALE)


def metric_row(name: str, ours: float, ref: float) -> str:
    return f"| {name} | {ours:.6f} | {ref:.6f} | {abs(ours - ref):.3g} |"


@torch.no_grad()
def compare(args: argparse.Namespace, root: Path, video: Tensor) -> tuple[list[str], list[str]]:
    nets, metrics = Rows(), Rows()
    backbones = vbench.Backbones(root, "cpu")

    if args.dino:
        ref = reference_dino(args.dino, root / vbench.DINO_FILE)
        frames = vbench.dino_transform(video)
        ref_feats = torch.cat([ref(f[None]) for f in frames])  # one frame per forward, as VBench
        ours = vbench.dino_features(video, backbones.dino)
        nets.append(f"| DINO ViT-B/16 | CLS feature, {list(frames.shape[-2:])} frames | {max_diff(ours, ref_feats)} |")
        metrics.append(metric_row("subject_consistency", vbench.consistency(ours), vbench.consistency(ref_feats)))

    if args.clip:
        clip_model = load_file("openai_clip_model", args.clip / "clip" / "model.py")
        for i, relative in enumerate(CLIP_SIZES):
            write_reference_clip(clip_model, root / relative, seed=10 + i)
        for half in (False, True) if args.fp16 else (False,):
            label = "fp16 (GPU path)" if half else "fp32"
            b32, l14 = (reference_clip(clip_model, root / f, half) for f in CLIP_SIZES)
            ours_b32, ours_l14 = (load_clip_visual(root / f, half=half) for f in CLIP_SIZES)
            frames = vbench.clip_transform(video)
            try:
                ref_b32, ref_l14 = (m.encode_image(frames).float() for m in (b32, l14))
            except RuntimeError as err:  # some CPU builds lack fp16 kernels
                nets.append(f"| OpenAI CLIP, {label} | not run on this CPU: {err} | |")
                continue
            got_b32, got_l14 = ours_b32(frames).float(), ours_l14(frames).float()
            nets.append(f"| OpenAI CLIP ViT-B/32, {label} | encode_image | {max_diff(got_b32, ref_b32)} |")
            nets.append(f"| OpenAI CLIP ViT-L/14, {label} | encode_image | {max_diff(got_l14, ref_l14)} |")
            metrics.append(metric_row(f"background_consistency, {label}", vbench.consistency(got_b32),
                                      vbench.consistency(ref_b32)))
            metrics.append(metric_row(f"aesthetic_quality, {label}", aesthetic(got_l14, backbones),
                                      aesthetic(ref_l14, backbones)))

    if args.pyiqa:
        ref = reference_musiq(args.pyiqa, root / vbench.MUSIQ_FILE)
        frames = musiq.imaging_transform(video[:3])
        ref_scores = torch.cat([ref(f[None]).reshape(-1) for f in frames])
        ours = torch.cat([backbones.musiq(f[None]) for f in frames])
        nets.append(f"| MUSIQ (pyiqa) | score, {list(frames.shape[-2:])} frames | {max_diff(ours, ref_scores)} |")
        metrics.append(metric_row("imaging_quality (3 frames)", vbench.imaging_quality(video[:3], backbones.musiq),
                                  vbench.imaging_quality(video[:3], Adapter(ref, lambda m, x: m(x).reshape(-1)))))

    if args.vbench:
        model, padder = reference_amt(args.vbench, root / vbench.AMT_FILE)
        frames = video[:2].float() / 255.0
        ref_padded = padder(frames[:1].shape, 16).pad(*frames.split(1))
        ours_padded, _ = amt.replicate_pad(frames)
        nets.append(f"| AMT InputPadder(16) vs ours | padded frames | {max_diff(ours_padded, torch.cat(ref_padded))} |")
        embt = torch.full((1, 1, 1, 1), amt.MIDPOINT)
        ref_mid = model(*ref_padded, embt, scale_factor=1.0, eval=True)["imgt_pred"]
        nets.append(f"| AMT-S | interpolated frame | {max_diff(backbones.amt(*ours_padded.split(1), embt), ref_mid)} |")
        reference = amt.amt_interpolator(Adapter(model, lambda m, a, b, t: m(a, b, t, scale_factor=1.0,
                                                                             eval=True)["imgt_pred"]))
        metrics.append(metric_row("motion_smoothness", amt.motion_smoothness(video, amt.amt_interpolator(backbones.amt)),
                                  amt.motion_smoothness(video, reference)))

        model, padder = reference_raft(args.vbench, root / vbench.RAFT_FILE)
        frames = video[:3:2].float()
        ref_padded = padder(frames[:1].shape).pad(*frames.split(1))
        pads = raft_pads(*frames.shape[-2:])
        ours_padded = F.pad(frames, pads, mode="replicate")
        nets.append(f"| RAFT InputPadder vs ours | padded frames | {max_diff(ours_padded, torch.cat(ref_padded))} |")
        _, ref_flow = model(*ref_padded, iters=raft.ITERATIONS, test_mode=True)
        nets.append(f"| RAFT (20 iterations) | flow_up | {max_diff(backbones.raft(*ours_padded.split(1)), ref_flow)} |")
        reference = Adapter(model, lambda m, a, b: m(a, b, iters=raft.ITERATIONS, test_mode=True)[1])
        metrics.append(metric_row("dynamic_degree", raft.dynamic_degree(video, FPS, backbones.raft),
                                  raft.dynamic_degree(video, FPS, reference)))
    return nets, metrics


def raft_pads(h: int, w: int) -> tuple[int, int, int, int]:
    pad_h, pad_w = (-h) % raft.PAD_MULTIPLE, (-w) % raft.PAD_MULTIPLE
    return pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vbench", type=Path, help="Vchitect/VBench checkout (AMT-S, RAFT)")
    parser.add_argument("--dino", type=Path, help="facebookresearch/dino checkout")
    parser.add_argument("--clip", type=Path, help="openai/CLIP checkout")
    parser.add_argument("--pyiqa", type=Path, help="chaofengc/IQA-PyTorch checkout (VBench resolves <= 0.1.10)")
    parser.add_argument("--fp16", action="store_true", help="also CLIP in fp16 (the GPU path; slow on a CPU)")
    parser.add_argument("--frames", type=int, default=9, help="frames of the test video (16 fps)")
    parser.add_argument("--size", default="250x600", help="HxW of the test video (not multiples of 8 / 16 on purpose)")
    args = parser.parse_args()
    if not any((args.vbench, args.dino, args.clip, args.pyiqa)):
        parser.error("give at least one checkout: --vbench, --dino, --clip, --pyiqa")
    torch.manual_seed(0)
    height, width = (int(x) for x in args.size.split("x"))
    video = moving_video(args.frames, height, width)
    with tempfile.TemporaryDirectory() as tmp:
        root = write_weights(Path(tmp), "full")
        nets, metrics = compare(args, root, video)
    print(f"torch {torch.__version__}, CPU; video {args.frames} frames {height}x{width} (a panning texture)\n")
    print("| network | output | max abs difference (ours - reference) |\n|---|---|---|")
    print("\n".join(nets))
    print("\n| metric (our formula) | our network | reference network | abs difference |\n|---|---|---|---|")
    print("\n".join(metrics))


if __name__ == "__main__":
    main()
