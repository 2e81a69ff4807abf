"""Tiny PickScore / HPSv2 / ImageReward folders in each release's layout, built offline.

Every writer returns the folder it filled. Architectures keep the real image size (224) and
patch sizes (14 / 16) so the real preprocessing applies; widths and depths are tiny. Weights are
drawn with unit-scale variance per layer (not the 0.02 init), so scores clearly depend on the
image and the prompt. The checkpoint layouts are written here from the published key lists, not
from the project's modules, so a wrong parameter name in the project fails to load.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import Tensor

from streamt1.rewards import one_line
from streamt1.rewards.hpsv2 import Architecture
from streamt1.rewards.imagereward import VisionConfig

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
WORDS = ("a", "red", "cat", "on", "the", "mat", "blue", "dog", "sky", "sprite", "moves", "left")
SOT, EOT = "<|startoftext|>", "<|endoftext|>"

HPS_ARCH = Architecture(
    embed_dim=16, vision_width=32, vision_layers=2, vision_heads=4,
    vocab_size=0, text_width=24, text_heads=4, text_layers=2,
)  # vocab_size is filled in from the tokenizer by write_hpsv2
IR_VISION = VisionConfig(width=48, depth=2, heads=4, patch_size=16, image_size=224)
BERT_VOCAB = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "##s", ".", ","]
MED_CONFIG = {
    "architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1, "hidden_size": 32, "initializer_range": 0.02, "intermediate_size": 64,
    "layer_norm_eps": 1e-12, "max_position_embeddings": 40, "model_type": "bert", "num_attention_heads": 4,
    "num_hidden_layers": 2, "pad_token_id": 0, "type_vocab_size": 2, "vocab_size": len(BERT_VOCAB) + 2,
    "encoder_width": 768, "add_cross_attention": True,
}  # vocab + [DEC] + [ENC]; encoder_width as in the release (the code overwrites it with the ViT width)


def byte_symbols() -> list[str]:
    """GPT-2 / CLIP byte-to-unicode table: the 256 base symbols of byte-level BPE."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    return [chr(b) if b in printable else chr(next(extra)) for b in range(256)]


def clip_bpe() -> tuple[dict[str, int], list[str]]:
    """A CLIP-style BPE: bytes, bytes + '</w>', whole-word merges for WORDS, then <start> and <end> last."""
    symbols = byte_symbols()
    vocab_list = symbols + [s + "</w>" for s in symbols]
    merges = []
    for word in WORDS:
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        while len(parts) > 1:
            merges.append(f"{parts[0]} {parts[1]}")
            parts = [parts[0] + parts[1], *parts[2:]]
            if parts[0] not in vocab_list:
                vocab_list.append(parts[0])
    vocab_list += [SOT, EOT]  # end-of-text has the highest id, as open_clip's argmax pooling needs
    return {token: i for i, token in enumerate(vocab_list)}, merges


def write_clip_tokenizer(folder: Path) -> dict[str, int]:
    """vocab.json + merges.txt + tokenizer_config.json, loadable by transformers' CLIPTokenizer."""
    vocab, merges = clip_bpe()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "CLIPTokenizer", "bos_token": SOT, "eos_token": EOT, "unk_token": EOT,
        "pad_token": EOT, "model_max_length": 77, "do_lower_case": True,
    }))
    return vocab


EMBEDDING_TABLES = ("token_embedding", "positional_embedding", "position_embedding", "word_embeddings", "pos_embed")


def randomize(tensors: dict[str, Tensor], seed: int) -> dict[str, Tensor]:
    """Matrices ~ N(0, 1 / fan_in), embedding tables ~ N(0, 1), LayerNorm weights ~ 1 + N(0, 0.1),
    other vectors ~ N(0, 0.1); integer buffers are kept."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, like in tensors.items():
        if not like.is_floating_point():
            out[name] = like
            continue
        noise = torch.randn(like.shape, generator=g)
        if like.dim() >= 2 and not any(table in name for table in EMBEDDING_TABLES):
            noise = noise / like[0].numel() ** 0.5
        elif like.dim() <= 1:
            is_norm_weight = ("norm" in name.lower() or "ln_" in name) and name.endswith("weight")
            noise = noise * 0.1 + (1.0 if is_norm_weight else 0.0)
        out[name] = noise
    return out


# ---- PickScore: a transformers CLIPModel folder + laion's processor files -----------------------


def write_pickscore(root: Path) -> Path:
    from transformers import CLIPConfig, CLIPModel

    folder = root / "PickScore"
    vocab = write_clip_tokenizer(folder / "processor")
    (folder / "processor" / "preprocessor_config.json").write_text(json.dumps({
        "crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": CLIP_MEAN, "image_std": CLIP_STD,
        "resample": 3, "size": 224,
    }))  # the old-style file of laion/CLIP-ViT-H-14-laion2B-s32B-b79K
    config = CLIPConfig(
        text_config=dict(
            vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=77, hidden_act="gelu",
            bos_token_id=vocab[SOT], eos_token_id=vocab[EOT], pad_token_id=vocab[EOT],
        ),
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            image_size=224, patch_size=14, hidden_act="gelu",
        ),
        projection_dim=16,
    )
    config.save_pretrained(folder)
    shapes = {k: v for k, v in CLIPModel(config).state_dict().items()}
    state = randomize(shapes, seed=1)
    state["logit_scale"] = torch.tensor(2.0)
    # PickScore_v1 was saved when position_ids were persistent buffers
    state["text_model.embeddings.position_ids"] = torch.arange(77)[None]
    save_file({k: v.contiguous() for k, v in state.items()}, folder / "model.safetensors")
    return folder


# ---- HPSv2: {'state_dict': open_clip ViT-H-14 layout} + a CLIP tokenizer folder -----------------


def _open_clip_blocks(prefix: str, width: int, layers: int) -> dict[str, Tensor]:
    out = {}
    for i in range(layers):
        p = f"{prefix}transformer.resblocks.{i}."
        out |= {
            p + "ln_1.weight": torch.empty(width), p + "ln_1.bias": torch.empty(width),
            p + "attn.in_proj_weight": torch.empty(3 * width, width), p + "attn.in_proj_bias": torch.empty(3 * width),
            p + "attn.out_proj.weight": torch.empty(width, width), p + "attn.out_proj.bias": torch.empty(width),
            p + "ln_2.weight": torch.empty(width), p + "ln_2.bias": torch.empty(width),
            p + "mlp.c_fc.weight": torch.empty(4 * width, width), p + "mlp.c_fc.bias": torch.empty(4 * width),
            p + "mlp.c_proj.weight": torch.empty(width, 4 * width), p + "mlp.c_proj.bias": torch.empty(width),
        }
    return out


def open_clip_layout(arch: Architecture) -> dict[str, Tensor]:
    """Empty tensors named and shaped as open_clip's CLIP state dict for ``arch``."""
    vw, tw, grid = arch.vision_width, arch.text_width, arch.image_size // arch.patch_size
    return {
        "positional_embedding": torch.empty(arch.context_length, tw),
        "text_projection": torch.empty(tw, arch.embed_dim),
        "logit_scale": torch.empty(()),
        "visual.class_embedding": torch.empty(vw),
        "visual.positional_embedding": torch.empty(grid * grid + 1, vw),
        "visual.proj": torch.empty(vw, arch.embed_dim),
        "visual.conv1.weight": torch.empty(vw, 3, arch.patch_size, arch.patch_size),
        "visual.ln_pre.weight": torch.empty(vw), "visual.ln_pre.bias": torch.empty(vw),
        **_open_clip_blocks("visual.", vw, arch.vision_layers),
        "visual.ln_post.weight": torch.empty(vw), "visual.ln_post.bias": torch.empty(vw),
        "token_embedding.weight": torch.empty(arch.vocab_size, tw),
        **_open_clip_blocks("", tw, arch.text_layers),
        "ln_final.weight": torch.empty(tw), "ln_final.bias": torch.empty(tw),
    }


def hps_arch(vocab_size: int) -> Architecture:
    return dataclasses.replace(HPS_ARCH, vocab_size=vocab_size)


def write_hpsv2(root: Path) -> Path:
    folder = root / "HPSv2"
    vocab = write_clip_tokenizer(folder / "tokenizer")
    state = randomize(open_clip_layout(hps_arch(len(vocab))), seed=2)
    state["logit_scale"] = torch.tensor(4.6)
    torch.save({"state_dict": state}, folder / "HPS_v2.1_compressed.pt")
    return folder


# ---- ImageReward: plain state dict + med_config.json + a bert-base-uncased tokenizer folder -----


def _bert_layer(prefix: str, hidden: int, inter: int, kv_width: int) -> dict[str, Tensor]:
    out = {}
    for part, kv in (("attention", hidden), ("crossattention", kv_width)):
        p = f"{prefix}{part}."
        out |= {
            p + "self.query.weight": torch.empty(hidden, hidden), p + "self.query.bias": torch.empty(hidden),
            p + "self.key.weight": torch.empty(hidden, kv), p + "self.key.bias": torch.empty(hidden),
            p + "self.value.weight": torch.empty(hidden, kv), p + "self.value.bias": torch.empty(hidden),
            p + "output.dense.weight": torch.empty(hidden, hidden), p + "output.dense.bias": torch.empty(hidden),
            p + "output.LayerNorm.weight": torch.empty(hidden), p + "output.LayerNorm.bias": torch.empty(hidden),
        }
    return out | {
        prefix + "intermediate.dense.weight": torch.empty(inter, hidden),
        prefix + "intermediate.dense.bias": torch.empty(inter),
        prefix + "output.dense.weight": torch.empty(hidden, inter), prefix + "output.dense.bias": torch.empty(hidden),
        prefix + "output.LayerNorm.weight": torch.empty(hidden), prefix + "output.LayerNorm.bias": torch.empty(hidden),
    }


def _blip_vit(vision: VisionConfig) -> dict[str, Tensor]:
    w, p = vision.width, "blip.visual_encoder."
    out = {
        p + "cls_token": torch.empty(1, 1, w),
        p + "pos_embed": torch.empty(1, (vision.image_size // vision.patch_size) ** 2 + 1, w),
        p + "patch_embed.proj.weight": torch.empty(w, 3, vision.patch_size, vision.patch_size),
        p + "patch_embed.proj.bias": torch.empty(w),
        p + "norm.weight": torch.empty(w), p + "norm.bias": torch.empty(w),
    }
    for i in range(vision.depth):
        b = f"{p}blocks.{i}."
        out |= {
            b + "norm1.weight": torch.empty(w), b + "norm1.bias": torch.empty(w),
            b + "attn.qkv.weight": torch.empty(3 * w, w), b + "attn.qkv.bias": torch.empty(3 * w),
            b + "attn.proj.weight": torch.empty(w, w), b + "attn.proj.bias": torch.empty(w),
            b + "norm2.weight": torch.empty(w), b + "norm2.bias": torch.empty(w),
            b + "mlp.fc1.weight": torch.empty(4 * w, w), b + "mlp.fc1.bias": torch.empty(4 * w),
            b + "mlp.fc2.weight": torch.empty(w, 4 * w), b + "mlp.fc2.bias": torch.empty(w),
        }
    return out


def imagereward_layout(vision: VisionConfig, med: dict) -> dict[str, Tensor]:
    """Empty tensors named and shaped as ``ImageReward.pt`` for a ViT ``vision`` and a ``med`` config."""
    hidden, inter, p = med["hidden_size"], med["intermediate_size"], "blip.text_encoder."
    out = _blip_vit(vision) | {
        p + "embeddings.word_embeddings.weight": torch.empty(med["vocab_size"], hidden),
        p + "embeddings.position_embeddings.weight": torch.empty(med["max_position_embeddings"], hidden),
        p + "embeddings.LayerNorm.weight": torch.empty(hidden), p + "embeddings.LayerNorm.bias": torch.empty(hidden),
        "blip.vision_proj.weight": torch.empty(256, vision.width), "blip.vision_proj.bias": torch.empty(256),
        "blip.text_proj.weight": torch.empty(256, hidden), "blip.text_proj.bias": torch.empty(256),
    }
    for i in range(med["num_hidden_layers"]):
        out |= _bert_layer(f"{p}encoder.layer.{i}.", hidden, inter, vision.width)
    widths = (hidden, 1024, 128, 64, 16, 1)
    for index, (a, b) in zip((0, 2, 4, 6, 7), zip(widths[:-1], widths[1:])):
        out |= {f"mlp.layers.{index}.weight": torch.empty(b, a), f"mlp.layers.{index}.bias": torch.empty(b)}
    return out


def write_imagereward(root: Path) -> Path:
    folder = root / "ImageReward"
    (folder / "bert-base-uncased").mkdir(parents=True)
    (folder / "bert-base-uncased" / "vocab.txt").write_text("\n".join(BERT_VOCAB) + "\n")
    (folder / "med_config.json").write_text(json.dumps(MED_CONFIG, indent=2))
    state = randomize(imagereward_layout(IR_VISION, MED_CONFIG), seed=3)
    state["blip.text_encoder.embeddings.position_ids"] = torch.arange(MED_CONFIG["max_position_embeddings"])[None]
    torch.save(state, folder / "ImageReward.pt")
    return folder


# ---- shared by the tests -------------------------------------------------------------------------


def sample_frames(seed: int = 0, count: int = 4, height: int = 61, width: int = 97) -> Tensor:
    """Float frames in [0, 1]; 61 x 97 makes the resize non-square and the crop offset odd."""
    return torch.rand(count, 3, height, width, generator=torch.Generator().manual_seed(seed))


def png_roundtrip(frames_uint8: Tensor, folder: Path) -> list:
    """Write each ``[3, H, W]`` uint8 frame as a PNG and open it again, as the authors' scripts read images."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for index, frame in enumerate(frames_uint8):
        path = folder / f"frame{index}.png"
        Image.fromarray(frame.permute(1, 2, 0).numpy()).save(path)
        images.append(Image.open(path).convert("RGB"))
    return images


def assert_missing_file_message(err: BaseException, named: str, entry, folder: Path) -> None:
    """One line naming the file, the reward and where its release is published, where to put the file,
    and the folder's expected tree."""
    message = str(err)
    assert "\n" not in message
    assert message.startswith(f"{named}: not found; it comes from the {entry.name} reward's release, "
                              f"{entry.published[0]}")
    assert f"; place it at {folder / named}, laid out as {folder}/{{" in message
    assert message.endswith(one_line(entry.tree).removeprefix("<folder>"))
