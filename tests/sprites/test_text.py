import pytest
import torch

from streamt1.sprites.captions import vocabulary_help
from streamt1.sprites.text import EOS, SpritesTokenizer, TextEncoderConfig, TinySpritesTextEncoder, default_vocab


def test_tokenizer_ids_eos_and_padding():
    tok = SpritesTokenizer(default_vocab(), text_len=8)
    ids = tok(["A red circle grows.", "a blue square falls over a white background"][:1])
    vocab = default_vocab()
    assert [vocab[i] for i in ids[0, :5].tolist()] == ["a", "red", "circle", "grows", EOS]
    assert ids[0, 5:].eq(0).all()


def test_tokenizer_rejects_unknown_words_and_long_prompts():
    tok = SpritesTokenizer(default_vocab(), text_len=4)
    with pytest.raises(ValueError, match="cannot express.*unicorn"):
        tok(["a unicorn grows"])
    with pytest.raises(ValueError, match="has 8 words; this model reads at most 3: shorten the prompt"):
        tok(["a red circle grows over a blue background"])
    long = " ".join(["a red circle grows"] * 200)
    with pytest.raises(ValueError) as error:  # the echo is cut, not the whole prompt
        tok([long])
    assert len(str(error.value)) < 200 and "has 800 words" in str(error.value)
    with pytest.raises(ValueError) as error:
        tok([" ".join(f"x{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(100))])
    assert "and 92 more words" in str(error.value)
    assert len(str(error.value)) < len(vocabulary_help()) + 250  # what it understands, and a short echo


def test_encoder_shape_zero_padding_and_batch_independence():
    torch.manual_seed(0)
    enc = TinySpritesTextEncoder(TextEncoderConfig(text_len=16, text_dim=32, num_layers=1, num_heads=2)).eval()
    short, long = "a red circle grows", "a small blue square falls over a white background"
    out = enc([short, long])
    assert out.shape == (2, 16, 32)
    assert out[0, 5:].eq(0).all() and out[0, :5].abs().sum(-1).gt(0).all()
    assert out[1, 10:].eq(0).all()
    assert torch.allclose(enc(short)[0], out[0], atol=1e-5)


def test_encoder_is_trainable():
    enc = TinySpritesTextEncoder(TextEncoderConfig(text_len=16, text_dim=32, num_layers=1, num_heads=2))
    enc(["a red circle grows"]).pow(2).sum().backward()
    assert enc.token_embedding.weight.grad is not None and enc.token_embedding.weight.grad.abs().sum() > 0


def test_config_validation():
    with pytest.raises(ValueError, match="text_dim"):
        TextEncoderConfig(text_dim=30, num_heads=4)
    with pytest.raises(ValueError, match="vocab"):
        TextEncoderConfig(vocab=("a", "b"))


def test_the_empty_caption_is_the_null_condition_eos_alone():
    tok = SpritesTokenizer(default_vocab(), 8)
    assert tok([""])[0].tolist() == [1, 0, 0, 0, 0, 0, 0, 0]
    with pytest.raises(ValueError, match="empty caption"):
        tok(["  "])  # blank text is not the null condition: a user's mistake
