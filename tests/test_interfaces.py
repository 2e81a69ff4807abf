import pytest
import torch

from streamt1.interfaces import to_uint8


def test_float_frames_round_to_uint8():
    # nearest level, ties to even (torch.round), clamped: the engine's rule for the frames it stores
    values = torch.tensor([0.0, 0.51 / 255, 0.49 / 255, 1.2, -0.1, 1.5 / 255, 2.5 / 255, 1.0])
    assert to_uint8(values).tolist() == [0, 1, 0, 255, 0, 2, 2, 255]
    frames = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)
    assert to_uint8(frames) is frames
    assert torch.equal(to_uint8(frames.float() / 255), frames)  # exact for frames that came from uint8
    with pytest.raises(ValueError, match="uint8 or float"):
        to_uint8(frames.long())
