"""Seconds per video and peak memory of each VBench dimension (and VideoAlign) at full size, on one GPU.

The networks are the released ones at full size with random weights (they do not change the cost),
written to a temp folder in the released file formats (``vbench_files.py``) and loaded by
``streamt1.metrics.vbench`` exactly as ``streamt1 score`` loads them: DINO ViT-B/16, CLIP ViT-B/32 and
ViT-L/14 (fp16 on the GPU, as ``clip.load`` leaves them), MUSIQ, AMT-S, RAFT. Videos are 832x480 at
16 fps: 81 frames (5 s) and 481 frames (30 s) scored as one clip, and the 30 s one also as VBench-Long
2 s clips (``--long on``). On the GPU each dimension is warmed up on a short clip first (loading and
kernel choice are not timed); a time covers the uint8 frames on the CPU through the score
(preprocessing included), synchronised. VideoAlign
(Qwen2-VL-2B, bf16, random weights, ``rewards_gpu.build_videoalign``) scores the whole video once.

Needs torch only (and transformers for VideoAlign; ``--no-video-reward`` leaves it out).

Usage::

    python benchmarks/vbench_gpu.py           # full size, CUDA (a few minutes on an H200)
    python benchmarks/vbench_gpu.py --tiny    # tiny backbones, 128x128 on CPU (~1 min): does the script work?
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

sys.path.insert(0, str(Path(__file__).parent))
from vbench_files import write_weights  # noqa: E402

from streamt1.metrics import vbench  # noqa: E402

GIB = 2**30
FPS = 16.0
PROMPT = "a red fox runs through fresh snow at dawn"
WARMUP_FRAMES = 17


@dataclass(frozen=True)
class Case:
    label: str
    frames: int
    long: bool


FULL = dict(height=480, width=832, cases=(Case("5 s (81 frames)", 81, False), Case("30 s (481 frames)", 481, False),
                                          Case("30 s, VBench-Long 2 s clips", 481, True)))
TINY = dict(height=128, width=128, cases=(Case("0.5 s (9 frames)", 9, False), Case("2 s (33 frames)", 33, False),
                                          Case("2 s, VBench-Long 2 s clips", 33, True)))


def moving_video(frames: int, height: int, width: int, seed: int = 0) -> Tensor:
    """uint8 ``[T, 3, H, W]``: a smooth random texture panning 2 px per frame (real motion for RAFT / AMT)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, height // 8, (width + 2 * frames) // 8 + 1, generator=g)
    texture = torch.nn.functional.interpolate(coarse, size=(height, width + 2 * frames), mode="bilinear")[0]
    texture = (texture * 255).to(torch.uint8)
    return torch.stack([texture[:, :, 2 * t : 2 * t + width] for t in range(frames)])


def measure(fn, device: torch.device) -> tuple[float, float]:
    """(seconds, peak GiB) of one synchronised call; the CPU has no peak counter (NaN)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        return time.perf_counter() - start, torch.cuda.max_memory_allocated(device) / GIB
    return time.perf_counter() - start, float("nan")


def time_dimensions(backbones: vbench.Backbones, videos: dict[Case, Tensor]) -> dict[str, dict[Case, tuple]]:
    rows: dict[str, dict[Case, tuple]] = {}
    for name in vbench.AVAILABLE:
        if backbones.device.type == "cuda":  # loads the network and picks kernels outside the timing
            warm = next(iter(videos.values()))[:WARMUP_FRAMES]
            vbench.score_dimension(warm, FPS, name, backbones, long=False)
        rows[name] = {case: measure(lambda: vbench.score_dimension(video, FPS, name, backbones, case.long),
                                    backbones.device)
                      for case, video in videos.items()}
        print(f"  {name}: done", flush=True)
    return rows


def time_video_reward(tiny: bool, device: torch.device, videos: dict[Case, Tensor]) -> dict[Case, tuple]:
    from rewards_gpu import build_videoalign  # transformers: imported only when asked for

    with tempfile.TemporaryDirectory() as tmp:
        reward = build_videoalign("tiny" if tiny else "2b", device, torch.float32 if tiny else torch.bfloat16,
                                  Path(tmp))
    first = next(iter(videos.values()))
    reward(first[None, :WARMUP_FRAMES], [PROMPT], FPS)
    # The reward reads a whole video whatever the clip mode: one time per video length.
    return {case: measure(lambda: reward(video[None], [PROMPT], FPS), device)
            for case, video in videos.items() if not case.long}


def cell(result: tuple[float, float] | None) -> str:
    if result is None:
        return "-"
    seconds, peak = result
    return f"{seconds:.2f} s" if peak != peak else f"{seconds:.2f} s, {peak:.1f} GiB"  # NaN: no GPU counter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny backbones and small videos on the CPU")
    parser.add_argument("--no-video-reward", action="store_true", help="leave VideoAlign out")
    args = parser.parse_args()
    device = torch.device("cpu" if args.tiny else "cuda")
    setup = TINY if args.tiny else FULL
    videos = {case: moving_video(case.frames, setup["height"], setup["width"]) for case in setup["cases"]}
    with tempfile.TemporaryDirectory() as tmp:
        root = write_weights(Path(tmp), "tiny" if args.tiny else "full")
        backbones = vbench.Backbones(root, device)
        rows = time_dimensions(backbones, videos)
    if not args.no_video_reward:
        rows["videoalign (VQ / MQ / TA)"] = time_video_reward(args.tiny, device, videos)

    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"\ntorch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, {gpu}; "
          f"{setup['width']}x{setup['height']} at {FPS:g} fps; CLIP fp16: {backbones.clip_half}")
    print("seconds per video (peak GiB allocated, weights included)\n")
    cases = setup["cases"]
    print("| metric | " + " | ".join(c.label for c in cases) + " |")
    print("|---|" + "---|" * len(cases))
    for name, results in rows.items():
        print(f"| {name} | " + " | ".join(cell(results.get(c)) for c in cases) + " |")


if __name__ == "__main__":
    main()
