"""PickScore (Kirstain et al., "Pick-a-Pic", 2023): a CLIP-H/14 fine-tuned on human preferences.

Score, as the authors' README computes it: ``logit_scale.exp() * cos(text_embedding, image_embedding)``
with the projected CLIP embeddings (softmax over images is only for pairwise probabilities).

Files (one folder): the ``CLIPModel`` of ``yuvalkirstain/PickScore_v1`` (``config.json`` and one
``model.safetensors`` or ``pytorch_model.bin``) and, in ``processor/``, the processor the authors
load from ``laion/CLIP-ViT-H-14-laion2B-s32B-b79K`` (``preprocessor_config.json`` and the CLIP BPE
tokenizer files). The model is built from the config and loaded from the state dict directly
(``weights_only=True``, keys checked); legacy ``*.position_ids`` entries, which older
transformers saved as persistent buffers, are dropped.

Preprocessing: frames -> uint8 (see :mod:`streamt1.rewards.image_common`) -> PIL -> the CLIP image
processor with the PIL backend (``CLIPImageProcessorPil``: shortest edge 224 bicubic, center crop
224, CLIP mean/std), which is what the authors' transformers 4.x slow processor computes; the 5.x
default torchvision backend differs by up to 0.015. Text: ``padding=True, truncation=True,
max_length=77``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import Tensor
from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

from streamt1.rewards import REWARDS, check_files, check_max_batch, read_weights
from streamt1.rewards.image_common import BatchedImageReward, load_reward_weights, no_init_weights, to_pil

logger = logging.getLogger(__name__)

ENTRY = REWARDS["pickscore"]  # files, layout, source and licence
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer.json", "vocab.json")
MAX_TEXT_TOKENS = 77


class PickScore(BatchedImageReward):
    """:class:`~streamt1.interfaces.ImageReward` adapter: frames + prompts -> PickScore ``[N]``."""

    def __init__(
        self,
        model: CLIPModel,
        image_processor: CLIPImageProcessorPil,
        tokenizer: CLIPTokenizer,
        max_batch: int = 16,
    ) -> None:
        super().__init__(model, max_batch)
        self.image_processor = image_processor
        self.tokenizer = tokenizer

    def pixel_values(self, frames: Tensor) -> Tensor:
        """uint8 ``[N, 3, H, W]`` -> processor output ``[N, 3, 224, 224]`` float32."""
        images = [to_pil(frame) for frame in frames]
        return self.image_processor(images=images, return_tensors="pt")["pixel_values"]

    @torch.no_grad()
    def _score(self, frames: Tensor, prompts: list[str]) -> Tensor:
        dtype = self.module.logit_scale.dtype
        pixels = self.pixel_values(frames).to(self.device, dtype)
        text = self.tokenizer(
            prompts, padding=True, truncation=True, max_length=MAX_TEXT_TOKENS, return_tensors="pt"
        ).to(self.device)
        image_embeds = self.module.get_image_features(pixel_values=pixels)
        text_embeds = self.module.get_text_features(input_ids=text["input_ids"], attention_mask=text["attention_mask"])
        # transformers 5.x returns an output object (projection in .pooler_output); 4.x the tensor
        image_embeds, text_embeds = (
            torch.nn.functional.normalize(getattr(out, "pooler_output", out).float(), dim=-1)
            for out in (image_embeds, text_embeds)
        )
        return self.module.logit_scale.float().exp() * (text_embeds * image_embeds).sum(-1)


def load(
    path: str | Path,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    max_batch: int = 16,
) -> PickScore:
    """PickScore from a folder laid out as ``ENTRY.tree``."""
    check_max_batch(max_batch)
    folder = check_files(ENTRY, path)
    weights = ENTRY.require(folder, *WEIGHT_FILES)
    processor_dir = folder / "processor"
    if ENTRY.require(folder, *(f"processor/{name}" for name in TOKENIZER_FILES)).name == "vocab.json":
        ENTRY.require(folder, "processor/merges.txt")

    config = CLIPConfig.from_pretrained(folder)
    state_dict = {k: v for k, v in read_weights(weights, "pickscore").items() if not k.endswith("position_ids")}
    with no_init_weights():  # every parameter is overwritten by the checkpoint
        model = CLIPModel(config)
    load_reward_weights(model, state_dict, weights)
    model = model.to(device=device, dtype=dtype)
    logger.info("PickScore loaded from %s (%s, %s)", folder, device, dtype)
    return PickScore(
        model,
        CLIPImageProcessorPil.from_pretrained(processor_dir),
        CLIPTokenizer.from_pretrained(processor_dir),
        max_batch=max_batch,
    )
