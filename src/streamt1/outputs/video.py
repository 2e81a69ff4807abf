"""Videos and previews on disk: H.264 MP4 through PyAV, PNG contact sheets through Pillow.

Accepted frame layouts (one video, no batch axis):

* ``numpy.ndarray`` uint8 ``[T, H, W, 3]`` (what :func:`read_mp4` returns);
* ``torch.Tensor`` float ``[T, 3, H, W]`` in [0, 1] (what a generator's ``Decoded.frames[i]`` is);
  values are clamped to [0, 1], NaN is an error.

Frames are converted one at a time while encoding, so a long video on the GPU is never copied to
the host in full. Small frames (the 64x64 Sprites world) are enlarged by an integer factor with
nearest neighbour until the longer side reaches ``min_size``, so the result is watchable and the
pixels stay crisp; an odd height or width is then padded by one replicated edge row / column,
because yuv420p needs even sizes. All writes are atomic (see :mod:`streamt1.outputs.atomic`).
"""

from __future__ import annotations

import logging
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterator

import numpy as np
import torch
from PIL import Image

from streamt1.interfaces import to_uint8
from streamt1.outputs.atomic import atomic_path, atomic_write

logger = logging.getLogger(__name__)

Frames = np.ndarray | torch.Tensor

class PyAVMissing(ImportError):
    """PyAV is not installed where an MP4 is read or written."""


def _pyav(alternative: str = ""):
    """PyAV, imported when a video is read or written: scoring runs with ``--no-videos`` work without it."""
    try:
        import av
    except ImportError as err:
        raise PyAVMissing(f"reading or writing MP4 needs PyAV: `pip install av`{alternative}") from err
    return av


def require_pyav(alternative: str = "") -> None:
    """Check for PyAV before work that ends in an MP4, so that a missing one is named first, not after the work
    (``alternative``: the command's way around it, added to the message)."""
    _pyav(alternative)


_MAX_CRF = 51  # libx264's 8-bit quality scale is 0 (lossless) .. 51 (worst)


@dataclass(frozen=True)
class VideoInfo:
    """What an MP4 file holds, read from its container."""

    num_frames: int
    fps: float
    width: int
    height: int
    codec: str


def _frame_geometry(frames: Frames) -> tuple[int, int, int]:
    """Validate the layout and return ``(T, H, W)``."""
    if isinstance(frames, np.ndarray):
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(
                f"numpy frames must be uint8 [T, H, W, 3], got {frames.dtype} {list(frames.shape)}"
            )
        t, h, w, _ = frames.shape
    elif isinstance(frames, torch.Tensor):
        if not frames.is_floating_point() or frames.ndim != 4 or frames.shape[1] != 3:
            raise ValueError(
                f"torch frames must be float [T, 3, H, W] in [0, 1], got {frames.dtype} {list(frames.shape)}"
            )
        t, _, h, w = frames.shape
    else:
        raise ValueError(f"frames must be a numpy array or a torch tensor, got {type(frames).__name__}")
    if t == 0 or h == 0 or w == 0:
        raise ValueError(f"frames must be non-empty, got T={t}, H={h}, W={w}")
    return t, h, w


def _to_uint8(frame: np.ndarray | torch.Tensor, index: int) -> np.ndarray:
    """One frame (``[H, W, 3]`` uint8 or ``[3, H, W]`` float) -> ``[H, W, 3]`` uint8."""
    if isinstance(frame, np.ndarray):
        return frame
    if torch.isnan(frame).any():
        raise ValueError(f"frame {index} contains NaN; the generator or decoder produced invalid values")
    pixels = to_uint8(frame)  # [3, H, W]
    return pixels.permute(1, 2, 0).cpu().numpy()  # [H, W, 3]


def iter_uint8(frames: Frames) -> Iterator[np.ndarray]:
    """Yield the frames one by one as ``[H, W, 3]`` uint8 (validates the layout first)."""
    _frame_geometry(frames)
    for index in range(len(frames)):
        yield _to_uint8(frames[index], index)


def upscale_factor(height: int, width: int, min_size: int) -> int:
    """Smallest integer factor that brings the longer side to at least ``min_size`` (1 if already)."""
    return max(1, math.ceil(min_size / max(height, width)))


def _enlarge(frame: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour integer upscale of ``[H, W, 3]`` then edge padding to even sizes."""
    if factor > 1:
        frame = frame.repeat(factor, axis=0).repeat(factor, axis=1)  # [H*f, W*f, 3]
    pad_h, pad_w = frame.shape[0] % 2, frame.shape[1] % 2
    if pad_h or pad_w:
        frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frame


def _check_fps(fps: float) -> Fraction:
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps={fps} must be a positive finite number")
    # 1001 covers NTSC-style rates such as 30000/1001 exactly.
    return Fraction(fps).limit_denominator(1001)


def write_mp4(
    path: str | os.PathLike[str], frames: Frames, fps: float, *, min_size: int = 256, crf: int = 18
) -> None:
    """Encode ``frames`` as H.264 (libx264, yuv420p) MP4 at ``fps``, atomically.

    min_size: small frames are enlarged by an integer nearest-neighbour factor until the longer
        side is at least this many pixels (0 or 1 keeps the size).
    crf: libx264 constant rate factor, 0 (lossless) .. 51; 18 is visually lossless for most content.
    """
    if not 0 <= crf <= _MAX_CRF:
        raise ValueError(f"crf={crf} must be in [0, {_MAX_CRF}]")
    if min_size < 0:
        raise ValueError(f"min_size={min_size} must be >= 0")
    rate = _check_fps(fps)
    num_frames, height, width = _frame_geometry(frames)
    factor = upscale_factor(height, width, min_size)
    out_h, out_w = height * factor, width * factor
    out_h, out_w = out_h + out_h % 2, out_w + out_w % 2  # what _enlarge's edge padding gives

    with atomic_path(path) as tmp:
        # faststart moves the index to the front so players can start before the whole file loads.
        av = _pyav()
        with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height, stream.pix_fmt = out_w, out_h, "yuv420p"
            stream.options = {"crf": str(crf)}
            for frame in iter_uint8(frames):
                video_frame = av.VideoFrame.from_ndarray(_enlarge(frame, factor), format="rgb24")
                container.mux(stream.encode(video_frame))
            container.mux(stream.encode(None))  # flush the encoder's delayed frames
    logger.info("wrote %s: %d frames %dx%d at %s fps (x%d)", path, num_frames, out_w, out_h, fps, factor)


@contextmanager
def _open_video(path: str | os.PathLike[str]) -> Iterator[Any]:
    """PyAV's container of ``path`` for reading; FileNotFoundError if absent, and a ValueError naming the
    file and the remedy if FFmpeg cannot read it (FFmpeg's own text names neither, not always the file)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no video at {path}")
    av = _pyav()
    try:
        with av.open(str(path)) as container:
            yield container
    except av.FFmpegError as err:
        raise ValueError(f"{path} cannot be read as a video ({err.strerror or err}): remove it from the folder or "
                         "replace it with a readable MP4") from None


def read_mp4(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode every frame of the first video stream -> uint8 ``[T, H, W, 3]`` (RGB)."""
    with _open_video(path) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    if not frames:
        raise ValueError(f"{path} holds no decodable video frames")
    return np.stack(frames)


def mp4_info(path: str | os.PathLike[str]) -> VideoInfo:
    """Frame count, frame rate, size and codec of the first video stream of ``path``."""
    with _open_video(path) as container:
        if not container.streams.video:
            raise ValueError(f"{path} has no video stream")
        stream = container.streams.video[0]
        num_frames = stream.frames or sum(1 for _ in container.decode(video=0))
        rate = stream.average_rate or stream.base_rate
        return VideoInfo(
            num_frames=num_frames,
            fps=float(rate),
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            codec=stream.codec_context.name,
        )


def sample_indices(num_frames: int, count: int) -> list[int]:
    """``count`` evenly spaced frame indices from first to last (all frames if fewer)."""
    if count < 1:
        raise ValueError(f"count={count} must be >= 1")
    if num_frames <= count:
        return list(range(num_frames))
    return sorted({round(i) for i in np.linspace(0, num_frames - 1, count)})


def _tile(frame: np.ndarray, tile_size: int) -> np.ndarray:
    """Scale ``[H, W, 3]`` so its longer side is about ``tile_size``: crisp up, smooth down."""
    height, width = frame.shape[:2]
    if max(height, width) <= tile_size:
        factor = tile_size // max(height, width)
        return frame.repeat(factor, axis=0).repeat(factor, axis=1) if factor > 1 else frame
    scale = tile_size / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BOX))


def write_frames_grid_png(
    path: str | os.PathLike[str],
    frames: Frames,
    *,
    num_frames: int = 8,
    tile_size: int = 256,
    gap: int = 4,
) -> list[int]:
    """Write a contact sheet (one row of ``num_frames`` evenly sampled frames) as PNG, atomically.

    Each tile's longer side is scaled to about ``tile_size`` pixels; tiles are separated by ``gap``
    white pixels. Returns the frame indices shown, left to right.
    """
    if tile_size < 1 or gap < 0:
        raise ValueError(f"tile_size={tile_size} must be >= 1 and gap={gap} >= 0")
    total, _, _ = _frame_geometry(frames)
    indices = sample_indices(total, num_frames)
    tiles = [_tile(_to_uint8(frames[i], i), tile_size) for i in indices]
    tile_h, tile_w = tiles[0].shape[:2]
    sheet = np.full((tile_h, len(tiles) * (tile_w + gap) - gap, 3), 255, np.uint8)  # [h, n*(w+gap)-gap, 3]
    for slot, tile in enumerate(tiles):
        left = slot * (tile_w + gap)
        sheet[:, left : left + tile_w] = tile
    with atomic_write(path, "wb") as f:
        Image.fromarray(sheet).save(f, format="PNG")
    return indices
