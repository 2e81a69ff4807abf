import numpy as np
import pytest
import torch

from png_helpers import image_size, pixels

from streamt1.outputs.video import (
    mp4_info,
    read_mp4,
    sample_indices,
    upscale_factor,
    write_frames_grid_png,
    write_mp4,
)


def _smooth_frames(num: int, height: int, width: int) -> np.ndarray:
    """Slowly moving gradients: easy for H.264, so pixel error must be small."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = [
        np.stack([x / width * 200 + 4 * t, y / height * 200, np.full_like(x, 100 + 5 * t)], axis=-1)
        for t in range(num)
    ]
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)  # [T, H, W, 3]


def test_round_trip_numpy(tmp_path):
    frames = _smooth_frames(12, 96, 128)
    path = tmp_path / "v.mp4"
    write_mp4(path, frames, fps=16, min_size=0)
    info = mp4_info(path)
    assert (info.num_frames, info.fps, info.width, info.height, info.codec) == (12, 16.0, 128, 96, "h264")
    decoded = read_mp4(path)
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - frames.astype(int)).mean() < 3.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


def test_round_trip_torch_float_and_fractional_fps(tmp_path):
    frames = _smooth_frames(5, 64, 96)
    tensor = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0  # [T, 3, H, W]
    tensor[0, 0, 0, 0] = 1.7  # out of range: clamped, not an error
    write_mp4(tmp_path / "v.mp4", tensor, fps=15.5, min_size=0)
    assert mp4_info(tmp_path / "v.mp4").fps == 15.5
    decoded = read_mp4(tmp_path / "v.mp4")
    assert np.abs(decoded[1:].astype(int) - frames[1:].astype(int)).mean() < 3.0


def test_small_frames_upscaled_with_nearest_neighbour(tmp_path):
    frames = np.zeros((3, 64, 64, 3), np.uint8)
    frames[:, :32] = 255  # top half white: a hard edge that blurring would smear
    write_mp4(tmp_path / "s.mp4", frames, fps=8, min_size=256)
    decoded = read_mp4(tmp_path / "s.mp4")
    assert decoded.shape == (3, 256, 256, 3)
    assert decoded[:, :120].min() > 230 and decoded[:, 136:].max() < 25


@pytest.mark.parametrize(
    "height,width,min_size,expected",
    [(63, 65, 0, (64, 66)), (17, 9, 0, (18, 10)), (31, 20, 62, (62, 40)), (31, 21, 93, (94, 64))],
)
def test_odd_sizes_become_even(tmp_path, height, width, min_size, expected):
    frames = _smooth_frames(2, height, width)
    write_mp4(tmp_path / "o.mp4", frames, fps=4, min_size=min_size)
    info = mp4_info(tmp_path / "o.mp4")
    assert (info.height, info.width) == expected
    assert read_mp4(tmp_path / "o.mp4").shape == (2, *expected, 3)


def test_upscale_factor():
    assert upscale_factor(64, 64, 256) == 4
    assert upscale_factor(64, 100, 256) == 3
    assert upscale_factor(480, 832, 256) == 1
    assert upscale_factor(64, 64, 0) == 1


def test_failing_write_leaves_no_file_and_no_temp(tmp_path):
    frames = torch.rand(4, 3, 32, 32)
    frames[3, 1, 5, 5] = float("nan")  # discovered only when the last frame is converted
    with pytest.raises(ValueError, match="frame 3 contains NaN"):
        write_mp4(tmp_path / "bad.mp4", frames, fps=8)
    assert list(tmp_path.iterdir()) == []


def test_failing_write_keeps_previous_video(tmp_path):
    path = tmp_path / "v.mp4"
    write_mp4(path, _smooth_frames(3, 32, 32), fps=8)
    before = path.read_bytes()
    frames = torch.rand(4, 3, 32, 32)
    frames[2] = float("nan")
    with pytest.raises(ValueError):
        write_mp4(path, frames, fps=8)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


@pytest.mark.parametrize(
    "frames,fps,match",
    [
        (np.zeros((2, 8, 8, 3), np.float32), 8, "uint8"),
        (np.zeros((2, 8, 8), np.uint8), 8, "uint8"),
        (torch.zeros(2, 8, 8, 3), 8, r"\[T, 3, H, W\]"),
        (np.zeros((0, 8, 8, 3), np.uint8), 8, "non-empty"),
        (np.zeros((2, 8, 8, 3), np.uint8), 0, "fps=0"),
        (np.zeros((2, 8, 8, 3), np.uint8), float("nan"), "fps=nan"),
    ],
)
def test_bad_input_rejected(tmp_path, frames, fps, match):
    with pytest.raises(ValueError, match=match):
        write_mp4(tmp_path / "x.mp4", frames, fps=fps)
    assert list(tmp_path.iterdir()) == []


def test_read_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        read_mp4(tmp_path / "nope.mp4")


def test_an_unreadable_video_is_named_with_what_to_do(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_text("garbage")
    for read in (read_mp4, mp4_info):  # score reads the header first
        with pytest.raises(ValueError, match=r"junk.mp4 cannot be read as a video \(.+\): remove it from the folder"):
            read(junk)


def test_sample_indices():
    assert sample_indices(5, 8) == [0, 1, 2, 3, 4]
    assert sample_indices(81, 5) == [0, 20, 40, 60, 80]
    assert sample_indices(10, 1) == [0]


def test_frames_grid_png(tmp_path):
    frames = _smooth_frames(20, 64, 64)
    shown = write_frames_grid_png(tmp_path / "g.png", frames, num_frames=4, tile_size=128, gap=2)
    assert shown == [0, 6, 13, 19]
    image = pixels(tmp_path / "g.png", "RGB")
    assert image.shape == (128, 4 * 128 + 3 * 2, 3)
    np.testing.assert_array_equal(image[:2, 130 * 2 : 130 * 2 + 2], frames[13, :1, :1].repeat(2, 0).repeat(2, 1))
    assert (image[:, 128:130] == 255).all()  # the gap


def test_frames_grid_png_downscales_large_torch_frames(tmp_path):
    frames = torch.rand(3, 3, 480, 832)
    write_frames_grid_png(tmp_path / "g.png", frames, num_frames=3, tile_size=208)
    assert image_size(tmp_path / "g.png") == (3 * 208 + 2 * 4, 120)
