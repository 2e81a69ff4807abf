import pytest
import torch

from streamt1.interfaces import ChunkSpec, to_uint8


def test_float_frames_round_to_uint8():
    # nearest level, ties to even (torch.round), clamped: the engine's rule for the frames it stores
    values = torch.tensor([0.0, 0.51 / 255, 0.49 / 255, 1.2, -0.1, 1.5 / 255, 2.5 / 255, 1.0])
    assert to_uint8(values).tolist() == [0, 1, 0, 255, 0, 2, 2, 255]
    frames = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)
    assert to_uint8(frames) is frames
    assert torch.equal(to_uint8(frames.float() / 255), frames)  # exact for frames that came from uint8
    with pytest.raises(ValueError, match="uint8 or float"):
        to_uint8(frames.long())


@pytest.mark.parametrize("frames, fix", [(7, "use 6 or 9"), (2, "use 3"), (0, "use 3"), (-4, "use 3")])
def test_a_length_off_the_chunk_grid_names_the_lengths_that_fit(frames, fix):
    spec = ChunkSpec(latent_shape=(4, 3, 8, 8), frames_per_chunk=12, first_chunk_frames=9, height=64, width=64, fps=16.0)
    assert spec.num_chunks(9) == 3
    with pytest.raises(ValueError, match=f"num_frames={frames} must be a positive multiple of the chunk's 3 latent "
                                         f"frames: {fix}"):
        spec.num_chunks(frames)
