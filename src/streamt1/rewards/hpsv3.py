"""HPSv3: the human-preference image score of Ma et al., ICCV 2025 (arXiv 2508.03789; MizzenAI/HPSv3).

Qwen2-VL-7B-Instruct, fully fine-tuned, plus a 3-layer head ``Linear(3584, 1024) ReLU Dropout
Linear(1024, 16) ReLU Linear(16, 2)`` read at the added special token ``<|Reward|>``; the score is the
head's first output, mu (the second is log sigma of the training loss). Facts from the authors' code
(``hpsv3/inference.py``, ``hpsv3/train.py``, ``hpsv3/model/qwen2vl_trainer.py``,
``hpsv3/dataset/data_collator_qwen.py`` and ``utils.py``; upstream history in the fork
louisdarbandi/HPSv3 at 77e8fa3). Shared Qwen2-VL machinery: :mod:`streamt1.rewards.qwen2vl`.

Fidelity choices:

* The prompt is the authors' ``INSTRUCTION.format(text_prompt=...) + prompt_with_special_token``,
  verbatim (trailing spaces included), in the Qwen2-VL chat template with the image first.
* Pixels as their ``fetch_image`` with ``min_pixels = max_pixels = 200704``: ``smart_resize`` (factor
  28) and ``PIL.Image.resize(BICUBIC)`` of the RGB uint8 frame (480x832 -> 336x588, 252 tokens), then
  the stock processor's rescale / normalise. Frames stay in memory: the result equals the authors'
  path from a lossless PNG of the same pixels (tested). Float frames become uint8 by
  :func:`streamt1.interfaces.to_uint8` (nearest level of ``255 x``).
* Sequential text positions (their forward calls the text model with ``position_ids=None``); the head
  in float32 on a backbone of any dtype (they run ``rm_head`` in float32 under autocast).
* ``HPSv3.safetensors`` holds the full model in the flat transformers-4.45 layout; it is remapped and
  every key checked (see :func:`streamt1.rewards.qwen2vl.load_reward_weights`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from streamt1.config import ConfigError
from streamt1.interfaces import to_uint8
from streamt1.rewards import REWARDS, check_files, check_max_batch, read_weights
from streamt1.rewards import qwen2vl as q

logger = logging.getLogger(__name__)

ENTRY = REWARDS["hpsv3"]  # files, layout, source and licence
CHECKPOINT = "HPSv3.safetensors"
BASE_FOLDER = "Qwen2-VL-7B-Instruct"

REWARD_TOKEN = "<|Reward|>"
PIXELS = 256 * 28 * 28  # min_pixels = max_pixels = 200704 in hpsv3/inference.py
HEAD_HIDDEN = (1024, 16)  # rm_head_type "ranknet" without kwargs: 3584 -> 1024 -> 16 -> 2
HEAD_DROPOUT = 0.05

# Verbatim from hpsv3/dataset/data_collator_qwen.py (whitespace matters); long lines are the authors'.
INSTRUCTION = """
You are tasked with evaluating a generated image based on Visual Quality and Text Alignment and give a overall score to estimate the human preference. Please provide a rating from 0 to 10, with 0 being the worst and 10 being the best. 

**Visual Quality:**  
Evaluate the overall visual quality of the image. The following sub-dimensions should be considered:
- **Reasonableness:** The image should not contain any significant biological or logical errors, such as abnormal body structures or nonsensical environmental setups.
- **Clarity:** Evaluate the sharpness and visibility of the image. The image should be clear and easy to interpret, with no blurring or indistinct areas.
- **Detail Richness:** Consider the level of detail in textures, materials, lighting, and other visual elements (e.g., hair, clothing, shadows).
- **Aesthetic and Creativity:** Assess the artistic aspects of the image, including the color scheme, composition, atmosphere, depth of field, and the overall creative appeal. The scene should convey a sense of harmony and balance.
- **Safety:** The image should not contain harmful or inappropriate content, such as political, violent, or adult material. If such content is present, the image quality and satisfaction score should be the lowest possible. 

**Text Alignment:**  
Assess how well the image matches the textual prompt across the following sub-dimensions:
- **Subject Relevance** Evaluate how accurately the subject(s) in the image (e.g., person, animal, object) align with the textual description. The subject should match the description in terms of number, appearance, and behavior.
- **Style Relevance:** If the prompt specifies a particular artistic or stylistic style, evaluate how well the image adheres to this style.
- **Contextual Consistency**: Assess whether the background, setting, and surrounding elements in the image logically fit the scenario described in the prompt. The environment should support and enhance the subject without contradictions.
- **Attribute Fidelity**: Check if specific attributes mentioned in the prompt (e.g., colors, clothing, accessories, expressions, actions) are faithfully represented in the image. Minor deviations may be acceptable, but critical attributes should be preserved.
- **Semantic Coherence**: Evaluate whether the overall meaning and intent of the prompt are captured in the image. The generated content should not introduce elements that conflict with or distort the original description.
Textual prompt - {text_prompt}


"""

PROMPT_WITH_SPECIAL_TOKEN = """
Please provide the overall ratings of this image: <|Reward|>

END
"""


def build_head(hidden_size: int) -> nn.Sequential:
    """The ranknet head; indices 0/3/5 hold the Linear layers as in the checkpoint's ``rm_head.*`` keys."""
    return nn.Sequential(
        nn.Linear(hidden_size, HEAD_HIDDEN[0]), nn.ReLU(), nn.Dropout(HEAD_DROPOUT),
        nn.Linear(HEAD_HIDDEN[0], HEAD_HIDDEN[1]), nn.ReLU(), nn.Linear(HEAD_HIDDEN[1], 2),
    )


def user_text(prompt: str) -> str:
    """The text part of the authors' user message for ``prompt``."""
    return INSTRUCTION.format(text_prompt=prompt) + PROMPT_WITH_SPECIAL_TOKEN


class HPSv3Reward:
    """Frames ``[N, 3, H, W]`` (uint8, or float in [0, 1]) and one prompt each -> mu scores ``[N]`` (float32, CPU).

    At most ``max_batch`` frames go through one forward; rows are right-padded, so a batch scores as
    its frames one by one.
    """

    def __init__(self, module: q.QwenRewardModel, prompt: q.ChatPrompt, vision: q.VisionSpec, max_batch: int,
                 pixels: int = PIXELS):
        check_max_batch(max_batch)
        if pixels < vision.factor ** 2:
            raise ConfigError(f"hpsv3: pixels={pixels} is invalid: expected at least {vision.factor ** 2} "
                              f"(the authors use {PIXELS})")
        self.module, self.prompt, self.vision, self.max_batch = module, prompt, vision, max_batch
        self.pixels = pixels  # a smaller budget is a documented speed option (benchmarks/README.md)

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    def preprocess(self, frames: Tensor, prompts: Sequence[str]) -> q.TokenBatch:
        """The authors' inputs for these frames: 200704-pixel PIL bicubic resize, chat prompt, patches."""
        if frames.ndim != 4 or frames.shape[1] != 3:
            raise ConfigError(f"hpsv3: frames must be [N, 3, H, W], got {list(frames.shape)}")
        if len(prompts) != frames.shape[0]:
            raise ConfigError(f"hpsv3: {frames.shape[0]} frames but {len(prompts)} prompts; give one prompt per frame")
        size = q.smart_resize(*frames.shape[-2:], self.vision.factor, self.pixels, self.pixels)
        resized = q.resize_pil_bicubic(to_uint8(frames), size).to(self.device)  # uint8 travels, 4x lighter
        patches = [q.patchify(frame[None], self.vision) for frame in resized]
        merge = self.vision.merge_size ** 2
        rows = [self.prompt.encode(user_text(p), int(grid.prod()) // merge) for p, (_, grid) in zip(prompts, patches)]
        return self.prompt.batch(rows, [pv for pv, _ in patches], [grid for _, grid in patches])

    @torch.inference_mode()
    def __call__(self, frames: Tensor, prompts: Sequence[str]) -> Tensor:
        scores = []
        for start in range(0, frames.shape[0], self.max_batch):
            stop = start + self.max_batch
            batch = self.preprocess(frames[start:stop], prompts[start:stop]).to(self.device)
            scores.append(self.module(batch, self.prompt.media_token_id)[:, 0, 0].float().cpu())  # mu
        return torch.cat(scores) if scores else torch.zeros(0)


def resolve_folder(path: str | Path) -> Path:
    """The release folder: ``path`` itself, or the folder of a given ``HPSv3.safetensors``."""
    path = Path(path)
    return path.parent if path.suffix == ".safetensors" else path


def load(path: str | Path, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
         max_batch: int = 8, pixels: int = PIXELS) -> HPSv3Reward:
    """HPSv3 from a local folder laid out as ``ENTRY.tree`` (nothing is downloaded)."""
    from transformers import AutoTokenizer

    folder = check_files(ENTRY, resolve_folder(path))
    checkpoint, base = folder / CHECKPOINT, folder / BASE_FOLDER
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    tokenizer.add_special_tokens({"additional_special_tokens": [REWARD_TOKEN]})  # as hpsv3/train.py
    prompt = q.ChatPrompt(tokenizer, q.read_chat_template(base, tokenizer, "hpsv3"), "image", [REWARD_TOKEN], "hpsv3")
    config = q.read_qwen2vl_config(base, len(tokenizer), tokenizer.pad_token_id, "hpsv3")
    vision = q.VisionSpec.read(base / "preprocessor_config.json", config.vision_config, "hpsv3")
    module = q.build_reward_model(config, build_head(q.text_config_of(config).hidden_size), head_in_float32=True)
    q.load_reward_weights(module, read_weights(checkpoint, "hpsv3"), checkpoint, "hpsv3", dtype)
    logger.info("hpsv3: loaded %s (%s) on %s", checkpoint, dtype, device)
    return HPSv3Reward(module.to(device), prompt, vision, max_batch, pixels)
