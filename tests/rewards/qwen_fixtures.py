"""Tiny HPSv3 and VideoAlign releases written in the authors' released layouts, for tests.

``build_hpsv3(root)`` and ``build_videoalign(root)`` (session fixtures ``hpsv3_release`` /
``videoalign_release`` in conftest.py) return the release folder and the reference model the files were
written from, so tests can compute the expected scores independently of the loader:

* tiny random Qwen2-VL (text 64 wide, 2 layers; ViT 32 wide, 2 blocks) with the REAL 14-pixel patch,
  2x2 merge and temporal patch 2, so token counts are the real ones;
* a byte-level BPE tokenizer trained offline with every Qwen2-VL special token, and the Qwen2-VL
  chat template; a flat (transformers 4.45 style) ``config.json`` like the released base folders;
* weights re-drawn with ~unit gain so scores depend clearly on pixels, text and positions;
* HPSv3: ``HPSv3.safetensors`` in the flat 4.45 key layout; VideoAlign: ``checkpoint-<step>/model.pth``
  holding the PEFT-wrapped state dict with UNMERGED LoRA, flat layout, plus a lower step that must not
  be picked.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from streamt1.rewards import hpsv3, videoalign

QWEN2VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in "
    "messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful "
    "assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string "
    "%}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if "
    "content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = "
    "image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif "
    "%}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content "
    "%}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value "
    "}}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ "
    "content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if "
    "add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]
PREPROCESSOR = {  # Qwen2-VL-*-Instruct preprocessor_config.json
    "min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    "image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2VLProcessor",
}
VIDEOALIGN_NORM = {  # released inference_config
    "VQ_mean": 3.6757, "VQ_std": 2.2476, "MQ_mean": 1.1646, "MQ_std": 1.3811, "TA_mean": 2.8105, "TA_std": 2.5121,
}
LORA_R, LORA_ALPHA = 4, 8
LORA_EXCLUDE = ["lm_head", "rm_head", "embed_tokens", "visual"]
STEP, OLD_STEP = 20, 5  # "checkpoint-5" sorts after "checkpoint-20" as text: the loader must compare numbers


@dataclass
class Built:
    """A written release folder and the model (authors' layout in memory) it was written from."""

    path: Path
    model: nn.Module  # Qwen2VLForConditionalGeneration with ``rm_head`` (VideoAlign: PEFT-wrapped, LoRA unmerged)
    tokenizer: object


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [hpsv3.INSTRUCTION, hpsv3.PROMPT_WITH_SPECIAL_TOKEN, videoalign.DETAILED_PROMPT_WITH_SPECIAL_TOKEN,
              "You are a helpful assistant. system user assistant a red ball bounces on a blue floor"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(corpus * 4, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    return tok


def _config_dict(tok, tie: bool) -> dict:
    """A flat 4.45-style config.json (as the released base folders) for the tiny model."""
    ids = {name: tok.convert_tokens_to_ids(f"<|{name}|>") for name in ("vision_start", "vision_end", "vision_pad",
                                                                     "image_pad", "video_pad")}
    return {
        "architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl",
        "vocab_size": len(tok), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu", "rms_norm_eps": 1e-6,
        "max_position_embeddings": 32768, "rope_theta": 1000000.0, "max_window_layers": 2,
        "sliding_window": 32768, "use_sliding_window": False, "attention_dropout": 0.0,
        "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]}, "tie_word_embeddings": tie,
        "bos_token_id": tok.convert_tokens_to_ids("<|endoftext|>"), "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id, "vision_start_token_id": ids["vision_start"],
        "vision_end_token_id": ids["vision_end"], "vision_token_id": ids["vision_pad"],
        "image_token_id": ids["image_pad"], "video_token_id": ids["video_pad"], "torch_dtype": "float32",
        "vision_config": {"depth": 2, "embed_dim": 32, "hidden_size": 64, "num_heads": 4, "mlp_ratio": 2,
                          "in_chans": 3, "in_channels": 3, "patch_size": 14, "spatial_merge_size": 2,
                          "temporal_patch_size": 2, "hidden_act": "quick_gelu"},
    }


def _write_base(folder: Path, tok, config: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    (folder / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR, indent=2))
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": QWEN2VL_CHAT_TEMPLATE}))
    tok.save_pretrained(str(folder))


def _reference_model(config: dict, vocab: int, head: nn.Module, seed: int) -> nn.Module:
    """The authors' model class in memory (installed layout) with re-drawn weights of ~unit gain."""
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    cfg = Qwen2VLConfig(**{**config, "vocab_size": vocab})
    cfg._attn_implementation = "sdpa"
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(cfg)
    model.rm_head = head
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.ndim >= 2:  # Linear / Conv3d / Embedding: std 1/sqrt(fan_in), larger for the head
                fan_in = param[0].numel() if "embed_tokens" not in name else param.shape[1]
                gain = 3.0 if name.startswith("rm_head") else 1.0
                param.copy_(torch.randn(param.shape, generator=gen) * gain / math.sqrt(fan_in))
            elif name.endswith("bias"):
                param.copy_(torch.randn(param.shape, generator=gen) * 0.1)
            else:  # norm weights
                param.copy_(1 + 0.2 * torch.randn(param.shape, generator=gen))
    return model.eval()


def to_legacy(key: str) -> str:
    """Installed composite key -> the flat transformers-4.45 key the releases store."""
    for new, old in (("model.language_model.", "model."), ("model.visual.", "visual.")):
        for prefix in ("", "base_model.model."):
            if key.startswith(prefix + new):
                return prefix + old + key[len(prefix + new):]
    return key


def build_hpsv3(root: Path) -> Built:
    """Write a tiny HPSv3 release under ``root/hpsv3``."""
    from safetensors.torch import save_file

    folder = Path(root) / "hpsv3"
    tok = _tokenizer()
    config = _config_dict(tok, tie=False)  # the 7B stores an untied lm_head
    _write_base(folder / hpsv3.BASE_FOLDER, tok, config)
    tok.add_special_tokens({"additional_special_tokens": [hpsv3.REWARD_TOKEN]})
    model = _reference_model(config, len(tok), hpsv3.build_head(config["hidden_size"]), seed=1)
    state = {to_legacy(k): v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / hpsv3.CHECKPOINT))
    return Built(folder, model, tok)


def _lora_targets(model: nn.Module) -> list[str]:
    """VideoAlign's find_target_linear_names: every Linear / Embedding outside the excluded names."""
    return [name for name, module in model.named_modules()
            if isinstance(module, (nn.Linear, nn.Embedding)) and not any(ex in name for ex in LORA_EXCLUDE)]


def _model_config() -> dict:
    return {
        "data_config": {"meta_data": "/path/to/meta.csv", "data_dir": "/path/to/videos", "max_frame_pixels": 200704,
                        "num_frames": None, "fps": 2.0, "eval_dim": list(videoalign.PARTS),
                        "prompt_template_type": "detailed_special", "sample_type": "uniform"},
        "model_config": {"model_name_or_path": "Qwen/Qwen2-VL-2B-Instruct", "output_dim": 1,
                         "use_special_tokens": True, "reward_token": "special", "torch_dtype": "bfloat16"},
        "peft_lora_config": {"lora_enable": True, "vision_lora": False, "lora_r": LORA_R,
                             "lora_alpha": LORA_ALPHA, "lora_dropout": 0.05, "lora_namespan_exclude": LORA_EXCLUDE,
                             "lora_task_type": "CAUSAL_LM", "use_rslora": False, "num_lora_modules": -1},
        "inference_config": VIDEOALIGN_NORM,
    }


def build_videoalign(root: Path) -> Built:
    """Write a tiny VideoAlign release under ``root/videoalign``."""
    from peft import LoraConfig, get_peft_model

    folder = Path(root) / "videoalign"
    tok = _tokenizer()
    config = _config_dict(tok, tie=True)  # Qwen2-VL-2B ties its embeddings
    _write_base(folder / videoalign.BASE_FOLDER, tok, config)
    tok.add_special_tokens({"additional_special_tokens": list(videoalign.READ_TOKENS)})
    head = nn.Linear(config["hidden_size"], 1, bias=False)
    model = _reference_model(config, len(tok), head, seed=2)
    lora = LoraConfig(r=LORA_R, lora_alpha=LORA_ALPHA, lora_dropout=0.05, target_modules=_lora_targets(model))
    peft_model = get_peft_model(model, lora).eval()
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_" in name:  # PEFT starts B at zero: give the adapter a real effect
                param.copy_(torch.randn(param.shape, generator=gen) / math.sqrt(param.shape[1]))
    (folder / videoalign.CONFIG_FILE).write_text(json.dumps(_model_config(), indent=2))
    for step, state_model in ((STEP, peft_model), (OLD_STEP, None)):
        step_dir = folder / f"checkpoint-{step}"
        (step_dir / "tokenizer").mkdir(parents=True, exist_ok=True)
        tok.save_pretrained(str(step_dir / "tokenizer"))
        state = {to_legacy(k): v for k, v in peft_model.state_dict().items()}
        if state_model is None:  # an older step with different weights: picking it changes every score
            state = {k: torch.zeros_like(v) if "rm_head" in k else v for k, v in state.items()}
        torch.save(state, step_dir / "model.pth")
    return Built(folder, peft_model, tok)


def authors_hidden_states(model: nn.Module, input_ids, attention_mask, pixel_values, grid_thw, media_token_id):
    """The authors' reward forward on the reference model: embeddings with the vision features scattered
    over the media pads, then the text model with ``position_ids=None`` (sequential positions)."""
    backbone = model.model
    embeds = backbone.language_model.embed_tokens(input_ids)
    features = backbone.visual(pixel_values, grid_thw=grid_thw)
    features = getattr(features, "pooler_output", features)  # an output object in 5.x, a tensor in 4.57
    mask = (input_ids == media_token_id).unsqueeze(-1).expand_as(embeds)
    embeds = embeds.masked_scatter(mask, features)
    return backbone.language_model(inputs_embeds=embeds, attention_mask=attention_mask).last_hidden_state


def reference_image_processor():
    """transformers' numpy / PIL Qwen2-VL image processor (5.x ``...Pil``, 4.x the slow class), released settings."""
    try:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil as cls
    except ImportError:  # transformers 4.x
        from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor as cls
    return cls(min_pixels=PREPROCESSOR["min_pixels"], max_pixels=PREPROCESSOR["max_pixels"],
               image_mean=PREPROCESSOR["image_mean"], image_std=PREPROCESSOR["image_std"])


def reference_smart_resize(height, width, factor, min_pixels, max_pixels):
    """transformers' own copy of qwen-vl-utils' smart_resize."""
    try:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize
    except ImportError:  # transformers 4.x
        from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize
    return tuple(smart_resize(height, width, factor, min_pixels, max_pixels))
