import pytest
import torch

from streamt1.models.codec import LatentCodec, PixelUnshuffleCodec


def test_pixel_unshuffle_codec_is_lossless_and_shaped_for_sprites():
    codec = PixelUnshuffleCodec(4)
    assert isinstance(codec, LatentCodec)
    frames = torch.rand(2, 5, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    z = codec.encode(frames)
    assert z.shape == (2, 48, 5, 16, 16) and codec.latent_channels == 48
    assert z.min() >= -1 and z.max() <= 1
    decoded, cache = codec.decode_chunk(z, codec.initial_cache(2))
    assert cache is None and decoded.shape == frames.shape
    torch.testing.assert_close(decoded, frames, rtol=0, atol=1e-6)
    assert codec.frames_per_chunk(3) == codec.first_chunk_frames(3) == 3


def test_codec_rejects_wrong_shapes():
    codec = PixelUnshuffleCodec(4)
    with pytest.raises(ValueError, match="divisible"):
        codec.encode(torch.zeros(1, 1, 3, 30, 32))
    with pytest.raises(ValueError, match="channels"):
        codec.decode_chunk(torch.zeros(1, 12, 1, 4, 4), None)
