"""UMT5TextEncoder: Wan's .pth naming, HF folders, padding handling, offline tiny tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast, UMT5Config, UMT5EncoderModel

from streamt1.models.checkpoints import CheckpointError
from streamt1.models.text_encoder import UMT5TextEncoder, clean_prompt, umt5_config_from_wan, wan_t5_to_transformers

TEXT_LEN = 12
SENTENCES = ["a red cat runs on the beach at sunset", "a dog sleeps under a tree", "waves and birds"]
PROMPTS = ["a red cat runs on the beach", "a dog  sleeps &amp; waves"]


def wan_key(hf_key: str) -> str | None:
    """transformers UMT5EncoderModel key -> Wan T5Encoder key (Wan's wan/modules/t5.py naming)."""
    if hf_key == "shared.weight":
        return "token_embedding.weight"
    if hf_key == "encoder.final_layer_norm.weight":
        return "norm.weight"
    if hf_key == "encoder.embed_tokens.weight":
        return None  # tied to shared.weight; Wan stores it once
    _, _, i, rest = hf_key.split(".", 3)
    table = {
        "layer.0.layer_norm.weight": "norm1.weight",
        "layer.0.SelfAttention.relative_attention_bias.weight": "pos_embedding.embedding.weight",
        "layer.1.layer_norm.weight": "norm2.weight",
        "layer.1.DenseReluDense.wi_0.weight": "ffn.gate.0.weight",
        "layer.1.DenseReluDense.wi_1.weight": "ffn.fc1.weight",
        "layer.1.DenseReluDense.wo.weight": "ffn.fc2.weight",
    } | {f"layer.0.SelfAttention.{p}.weight": f"attn.{p}.weight" for p in "qkvo"}
    return f"blocks.{i}.{table[rest]}"


def build_tokenizer(folder: Path) -> None:
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(SENTENCES, trainers.WordLevelTrainer(special_tokens=["<pad>", "</s>", "<unk>"]))
    eos = tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", eos)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(str(folder))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("t5")
    build_tokenizer(root / "tokenizer")
    torch.manual_seed(0)
    config = UMT5Config(vocab_size=20, d_model=16, d_kv=4, d_ff=24, num_layers=2, num_heads=4,
                        relative_attention_num_buckets=8, feed_forward_proj="gated-gelu")
    model = UMT5EncoderModel(config).eval()
    model.save_pretrained(str(root / "hf"))
    wan_state = {wan_key(k): v.clone() for k, v in model.state_dict().items() if wan_key(k)}
    torch.save(wan_state, root / "models_t5_umt5-xxl-enc-bf16.pth")
    return root, model


def test_wan_key_names_are_the_original_ones(files):
    root, _ = files
    keys = set(torch.load(root / "models_t5_umt5-xxl-enc-bf16.pth", weights_only=True))
    per_block = {"norm1.weight", "attn.q.weight", "attn.k.weight", "attn.v.weight", "attn.o.weight", "norm2.weight",
                 "ffn.gate.0.weight", "ffn.fc1.weight", "ffn.fc2.weight", "pos_embedding.embedding.weight"}
    expected = {"token_embedding.weight", "norm.weight"} | {f"blocks.{i}.{k}" for i in range(2) for k in per_block}
    assert keys == expected


def test_config_read_from_shapes(files):
    root, model = files
    config = umt5_config_from_wan(torch.load(root / "models_t5_umt5-xxl-enc-bf16.pth", weights_only=True))
    for field in ("vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_heads", "relative_attention_num_buckets"):
        assert getattr(config, field) == getattr(model.config, field)


def test_wan_file_and_hf_folder_give_the_same_states(files):
    root, model = files
    from_wan = UMT5TextEncoder.from_wan_checkpoint(
        root / "models_t5_umt5-xxl-enc-bf16.pth", root / "tokenizer", text_len=TEXT_LEN)
    from_hf = UMT5TextEncoder.from_pretrained(root / "hf", root / "tokenizer", text_len=TEXT_LEN)
    a, b = from_wan(PROMPTS), from_hf(PROMPTS)
    assert a.shape == (2, TEXT_LEN, 16)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    # Against the model run directly on the same ids and mask.
    batch = from_hf.tokenizer([clean_prompt(p) for p in PROMPTS], padding="max_length", max_length=TEXT_LEN,
                              truncation=True, return_tensors="pt")
    direct = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
    real = batch.attention_mask.bool()
    torch.testing.assert_close(a[real], direct[real], rtol=0, atol=1e-5)


def test_padding_rows_zero_and_real_rows_independent_of_slots(files):
    root, _ = files
    short = UMT5TextEncoder.from_pretrained(root / "hf", root / "tokenizer", text_len=TEXT_LEN)
    long = UMT5TextEncoder.from_pretrained(root / "hf", root / "tokenizer", text_len=2 * TEXT_LEN)
    a, b = short(PROMPTS), long(PROMPTS)
    lengths = [len(clean_prompt(p).split()) + 1 for p in PROMPTS]  # words + </s>
    for row, n in enumerate(lengths):
        assert a[row, :n].abs().sum() > 0
        assert torch.all(a[row, n:] == 0) and torch.all(b[row, n:] == 0)
        torch.testing.assert_close(a[row, :n], b[row, :n], rtol=0, atol=1e-5)


def test_clean_prompt():
    assert clean_prompt("  a\n cat &amp;amp;  dog ") == "a cat & dog"


def test_errors(files, tmp_path):
    root, _ = files
    with pytest.raises(FileNotFoundError, match="Wan-AI/Wan2.1-T2V-1.3B"):
        UMT5TextEncoder.from_wan_checkpoint(tmp_path / "models_t5_umt5-xxl-enc-bf16.pth", root / "tokenizer",
                                            text_len=TEXT_LEN)
    with pytest.raises(FileNotFoundError, match="google/umt5-xxl"):
        UMT5TextEncoder.from_wan_checkpoint(root / "models_t5_umt5-xxl-enc-bf16.pth", tmp_path / "nope",
                                            text_len=TEXT_LEN)
    state = torch.load(root / "models_t5_umt5-xxl-enc-bf16.pth", weights_only=True)
    state["blocks.0.extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match="blocks.0.extra.weight"):
        UMT5TextEncoder.from_wan_checkpoint(tmp_path / "bad.pth", root / "tokenizer", text_len=TEXT_LEN)
    del state["blocks.0.extra.weight"], state["blocks.1.norm2.weight"]
    with pytest.raises(CheckpointError, match=r"1 missing \(encoder.block.1.layer.1.layer_norm.weight\)"):
        torch.save(state, tmp_path / "partial.pth")
        UMT5TextEncoder.from_wan_checkpoint(tmp_path / "partial.pth", root / "tokenizer", text_len=TEXT_LEN)
    encoder = UMT5TextEncoder.from_pretrained(root / "hf", root / "tokenizer", text_len=TEXT_LEN)
    with pytest.raises(ValueError, match="non-empty list"):
        encoder("a cat")
    assert list(wan_t5_to_transformers({"norm.weight": torch.ones(2)})) == ["encoder.final_layer_norm.weight"]
