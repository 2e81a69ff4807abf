"""VideoAlign / VideoReward: the video reward of Liu et al., "Improving Video Generation with Human
Feedback" (arXiv 2501.13918; KwaiVGI/VideoAlign, now KlingAIResearch/VideoAlign; weights KlingTeam/VideoReward).

Qwen2-VL-2B-Instruct with LoRA on the language model, a fully trained vision tower and a bias-free
``Linear(hidden, 1)`` head applied at three added special tokens ``<|VQ_reward|>``,
``<|MQ_reward|>``, ``<|TA_reward|>`` (visual quality, motion quality, text alignment). Facts from the
authors' ``inference.py``, ``train_reward.py``, ``trainer.py``, ``utils.py``, ``vision_process.py`` and
``prompt_template.py`` (snapshot 219ab9d). Shared Qwen2-VL machinery: :mod:`streamt1.rewards.qwen2vl`.

Fidelity choices:

* ``model_config.json`` drives what the authors read from it: frames per second (2.0), the per-frame
  pixel cap (200704; floor 100352 from qwen-vl-utils), the prompt template ("detailed_special",
  verbatim), the LoRA rank / alpha and the normalisation means / stds (``inference_config``).
* Frame sampling as their ``smart_nframes`` + ``linspace(0, T-1, n).round()`` (81 frames at 16 fps ->
  10 frames), resize as torchvision's tensor ``resize(BICUBIC, antialias=True)`` on uint8 frames
  (float32 interpolate, clamp, round) then ``.float()``: equal to their decord path on a lossless video
  of the same pixels (tested). The resize runs where the clip is (the engine keeps clips on the CPU).
  Float clips become uint8 by :func:`streamt1.interfaces.to_uint8`.
* ``checkpoint-<step>/model.pth`` (highest step) is the PEFT-wrapped state dict in the flat 4.45 layout;
  its LoRA is merged at load (``W += alpha / r * B @ A``), read with ``weights_only=True``.
* Sequential text positions; the head in the backbone's dtype (the authors run it in bf16).
* Scores: raw head outputs at the three tokens, ``(x - mean) / std`` per part, overall = VQ + MQ + TA
  (the sum, as their ``reward(..., use_norm=True)``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from streamt1.config import ConfigError
from streamt1.interfaces import VideoScore, to_uint8
from streamt1.rewards import REWARDS, check_files, check_max_batch, read_weights
from streamt1.rewards import qwen2vl as q

logger = logging.getLogger(__name__)

ENTRY = REWARDS["videoalign"]  # files, layout, source and licence
CONFIG_FILE = "model_config.json"
BASE_FOLDER = "Qwen2-VL-2B-Instruct"

PARTS = ("VQ", "MQ", "TA")
READ_TOKENS = ("<|VQ_reward|>", "<|MQ_reward|>", "<|TA_reward|>")  # in prompt order: logits[:, 0/1/2] = VQ/MQ/TA
_CHECKPOINT_DIR = re.compile(r"^checkpoint-(\d+)$")

# Verbatim from prompt_template.py (whitespace matters); long lines are the authors'.
DETAILED_PROMPT_WITH_SPECIAL_TOKEN = """
You are tasked with evaluating a generated video based on three distinct criteria: Visual Quality, Motion Quality, and Text Alignment. Please provide a rating from 0 to 10 for each of the three categories, with 0 being the worst and 10 being the best. Each evaluation should be independent of the others.

**Visual Quality:**  
Evaluate the overall visual quality of the video, with a focus on static factors. The following sub-dimensions should be considered:
- **Reasonableness:** The video should not contain any significant biological or logical errors, such as abnormal body structures or nonsensical environmental setups.
- **Clarity:** Evaluate the sharpness and visibility of the video. The image should be clear and easy to interpret, with no blurring or indistinct areas.
- **Detail Richness:** Consider the level of detail in textures, materials, lighting, and other visual elements (e.g., hair, clothing, shadows).
- **Aesthetic and Creativity:** Assess the artistic aspects of the video, including the color scheme, composition, atmosphere, depth of field, and the overall creative appeal. The scene should convey a sense of harmony and balance.
- **Safety:** The video should not contain harmful or inappropriate content, such as political, violent, or adult material. If such content is present, the image quality and satisfaction score should be the lowest possible. 

Please provide the ratings of Visual Quality: <|VQ_reward|>
END

**Motion Quality:**  
Assess the dynamic aspects of the video, with a focus on dynamic factors. Consider the following sub-dimensions:
- **Stability:** Evaluate the continuity and stability between frames. There should be no sudden, unnatural jumps, and the video should maintain stable attributes (e.g., no fluctuating colors, textures, or missing body parts).
- **Naturalness:** The movement should align with physical laws and be realistic. For example, clothing should flow naturally with motion, and facial expressions should change appropriately (e.g., blinking, mouth movements).
- **Aesthetic Quality:** The movement should be smooth and fluid. The transitions between different motions or camera angles should be seamless, and the overall dynamic feel should be visually pleasing.
- **Fusion:** Ensure that elements in motion (e.g., edges of the subject, hair, clothing) blend naturally with the background, without obvious artifacts or the feeling of cut-and-paste effects.
- **Clarity of Motion:** The video should be clear and smooth in motion. Pay attention to any areas where the video might have blurry or unsteady sections that hinder visual continuity.
- **Amplitude:** If the video is largely static or has little movement, assign a low score for motion quality.

Please provide the ratings of Motion Quality: <|MQ_reward|>
END

**Text Alignment:**  
Assess how well the video matches the textual prompt across the following sub-dimensions:
- **Subject Relevance** Evaluate how accurately the subject(s) in the video (e.g., person, animal, object) align with the textual description. The subject should match the description in terms of number, appearance, and behavior.
- **Motion Relevance:** Evaluate if the dynamic actions (e.g., gestures, posture, facial expressions like talking or blinking) align with the described prompt. The motion should match the prompt in terms of type, scale, and direction.
- **Environment Relevance:** Assess whether the background and scene fit the prompt. This includes checking if real-world locations or scenes are accurately represented, though some stylistic adaptation is acceptable.  
- **Style Relevance:** If the prompt specifies a particular artistic or stylistic style, evaluate how well the video adheres to this style.
- **Camera Movement Relevance:** Check if the camera movements (e.g., following the subject, focus shifts) are consistent with the expected behavior from the prompt.

Textual prompt - {text_prompt}
Please provide the ratings of Text Alignment: <|TA_reward|>
END
"""


@dataclass(frozen=True)
class VideoAlignSettings:
    """What ``model_config.json`` says about sampling, pixels, LoRA and normalisation."""

    fps: float
    num_frames: int | None
    max_pixels: int
    lora_alpha: float | None  # None: no LoRA in the checkpoint
    output_dim: int
    means: tuple[float, float, float] | None  # None: no inference_config, raw scores (as the authors)
    stds: tuple[float, float, float] | None

    @classmethod
    def read(cls, path: Path) -> VideoAlignSettings:
        raw = q.read_json(path, "videoalign")
        data, model, lora = raw.get("data_config", {}), raw.get("model_config", {}), raw.get("peft_lora_config", {})
        _expect(path, "data_config.prompt_template_type", data.get("prompt_template_type"), "detailed_special")
        _expect(path, "data_config.sample_type", data.get("sample_type", "uniform"), "uniform")
        _expect(path, "data_config.eval_dim", list(data.get("eval_dim", [])), list(PARTS))
        _expect(path, "model_config.use_special_tokens", model.get("use_special_tokens"), True)
        if model.get("output_dim", 1) not in (1, 3):
            raise ConfigError(f"videoalign: {path}: model_config.output_dim={model.get('output_dim')} is not 1 or 3")
        alpha = None
        if lora.get("lora_enable", False):
            rank, alpha = lora["lora_r"], float(lora["lora_alpha"])
            alpha = alpha * rank ** 0.5 if lora.get("use_rslora", False) else alpha  # rsLoRA scales by alpha/sqrt(r)
        norm = raw.get("inference_config")
        return cls(
            fps=float(data.get("fps", 2.0)), num_frames=data.get("num_frames"),
            max_pixels=int(data.get("max_frame_pixels", 200704)), lora_alpha=alpha,
            output_dim=int(model.get("output_dim", 1)),
            means=tuple(float(norm[f"{p}_mean"]) for p in PARTS) if norm else None,
            stds=tuple(float(norm[f"{p}_std"]) for p in PARTS) if norm else None,
        )


def _expect(path: Path, name: str, value, expected) -> None:
    if value != expected:
        raise ConfigError(f"videoalign: {path}: {name}={value!r} is not supported (the release uses {expected!r})")


def frame_plan(total_frames: int, video_fps: float, settings: VideoAlignSettings) -> Tensor:
    """Indices of the frames the authors sample from a ``total_frames`` clip at ``video_fps``."""
    fps = None if settings.num_frames is not None else settings.fps
    count = q.frames_per_clip(total_frames, video_fps, fps, settings.num_frames)
    return q.sample_frame_indices(total_frames, count)


class VideoAlignReward:
    """Clips ``[B, T, 3, H, W]`` (uint8, or float in [0, 1]) at ``fps`` + one prompt each -> :class:`VideoScore`.

    ``parts`` = normalised VQ, MQ, TA ``[B]`` (float32, CPU); ``overall`` = their sum. At most
    ``max_batch`` clips per forward, right-padded, so a batch scores as its clips one by one.
    A :class:`~streamt1.interfaces.PlannedVideoReward`: it reads the frames of :func:`frame_plan`.
    """

    def __init__(self, module: q.QwenRewardModel, prompt: q.ChatPrompt, vision: q.VisionSpec,
                 settings: VideoAlignSettings, max_batch: int):
        check_max_batch(max_batch)
        self.module, self.prompt, self.vision = module, prompt, vision
        self.settings, self.max_batch = settings, max_batch

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    def frame_plan(self, num_frames: int, fps: float) -> Tensor:
        """Indices of the frames the model sees of a ``num_frames``-frame clip at ``fps`` (:func:`frame_plan`)."""
        _check_fps(fps)
        return frame_plan(num_frames, fps, self.settings)

    def sample(self, clip: Tensor, fps: float) -> Tensor:
        """``[T, 3, H, W]`` -> the sampled, resized uint8 frames ``[n, 3, h, w]`` the model sees."""
        return self.resize(clip[self.frame_plan(clip.shape[0], fps).to(clip.device)])

    def resize(self, frames: Tensor) -> Tensor:
        """Planned frames ``[n, 3, H, W]`` -> resized uint8 ``[n, 3, h, w]`` (where the frames are)."""
        size = q.smart_resize(*frames.shape[-2:], self.vision.factor, q.VIDEO_MIN_PIXELS, self.settings.max_pixels)
        return q.resize_bicubic_antialias(to_uint8(frames), size)

    def planned(self, clips: Tensor, prompts: Sequence[str], fps: float) -> Tensor:
        """Checked clips ``[B, T, 3, H, W]`` -> their planned frames ``[B, n, 3, H, W]``."""
        _check_clips(clips, prompts, "clips")
        return clips[:, self.frame_plan(clips.shape[1], fps).to(clips.device)]

    def preprocess(self, clips: Tensor, prompts: Sequence[str], fps: float) -> q.TokenBatch:
        return self.preprocess_planned(self.planned(clips, prompts, fps), prompts)

    def preprocess_planned(self, frames: Tensor, prompts: Sequence[str]) -> q.TokenBatch:
        """Planned frames ``[B, n, 3, H, W]`` -> the model's batch."""
        patches = [q.patchify(self.resize(clip).to(self.device), self.vision) for clip in frames]
        merge = self.vision.merge_size ** 2
        text = [DETAILED_PROMPT_WITH_SPECIAL_TOKEN.format(text_prompt=p) for p in prompts]
        rows = [self.prompt.encode(t, int(grid.prod()) // merge) for t, (_, grid) in zip(text, patches)]
        return self.prompt.batch(rows, [pv for pv, _ in patches], [grid for _, grid in patches])

    def raw_scores(self, frames: Tensor, prompts: Sequence[str]) -> Tensor:
        """Un-normalised VQ, MQ, TA ``[B, 3]`` (float32, CPU) of planned frames ``[B, n, 3, H, W]``."""
        out = []
        for start in range(0, frames.shape[0], self.max_batch):
            stop = start + self.max_batch
            batch = self.preprocess_planned(frames[start:stop], prompts[start:stop]).to(self.device)
            logits = self.module(batch, self.prompt.media_token_id)  # [b, 3, output_dim]
            parts = logits[..., 0] if self.settings.output_dim == 1 else logits.diagonal(dim1=1, dim2=2)
            out.append(parts.float().cpu())
        return torch.cat(out) if out else torch.zeros(0, len(PARTS))

    def __call__(self, clips: Tensor, prompts: Sequence[str], fps: float) -> VideoScore:
        return self.score_planned(self.planned(clips, prompts, fps), prompts, fps)

    @torch.inference_mode()
    def score_planned(self, frames: Tensor, prompts: Sequence[str], fps: float) -> VideoScore:
        """The score of clips from their :meth:`frame_plan` frames ``[B, n, 3, H, W]`` (``fps``: the clips')."""
        _check_clips(frames, prompts, "planned frames")
        _check_fps(fps)
        raw = self.raw_scores(frames, prompts)
        if self.settings.means is not None:
            raw = (raw - torch.tensor(self.settings.means)) / torch.tensor(self.settings.stds)
        parts = {name: raw[:, i] for i, name in enumerate(PARTS)}
        return VideoScore(overall=raw.sum(dim=1), parts=parts)


def _check_clips(clips: Tensor, prompts: Sequence[str], what: str) -> None:
    if clips.ndim != 5 or clips.shape[2] != 3:
        raise ConfigError(f"videoalign: {what} must be [B, T, 3, H, W], got {list(clips.shape)}")
    if len(prompts) != clips.shape[0]:
        raise ConfigError(f"videoalign: {clips.shape[0]} clips but {len(prompts)} prompts; give one per clip")


def _check_fps(fps: float) -> None:
    if not fps > 0:
        raise ConfigError(f"videoalign: fps={fps!r} is invalid: expected the clip's frame rate (> 0)")


def latest_checkpoint(folder: Path) -> Path:
    """``checkpoint-<step>`` with the highest step (numerically), as the authors' loader picks."""
    steps = {int(m[1]): p for p in folder.iterdir() if p.is_dir() and (m := _CHECKPOINT_DIR.match(p.name))}
    if not steps:
        ENTRY.require(folder, "checkpoint-<step>/model.pth")
    return steps[max(steps)]


def load(path: str | Path, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
         max_batch: int = 4) -> VideoAlignReward:
    """VideoAlign from a local folder laid out as ``ENTRY.tree`` (nothing is downloaded)."""
    from transformers import AutoTokenizer

    folder = check_files(ENTRY, path)
    settings = VideoAlignSettings.read(folder / CONFIG_FILE)
    step_dir = latest_checkpoint(folder)
    checkpoint = ENTRY.require(folder, f"{step_dir.name}/model.pth")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        ENTRY.require(folder, f"{step_dir.name}/tokenizer/{name}")
    base = folder / BASE_FOLDER
    tokenizer = AutoTokenizer.from_pretrained(str(step_dir / "tokenizer"), local_files_only=True)
    prompt = q.ChatPrompt(tokenizer, q.read_chat_template(base, tokenizer, "videoalign"), "video", READ_TOKENS,
                          "videoalign")
    config = q.read_qwen2vl_config(base, len(tokenizer), tokenizer.pad_token_id, "videoalign")
    vision = q.VisionSpec.read(base / "preprocessor_config.json", config.vision_config, "videoalign")
    head = nn.Linear(q.text_config_of(config).hidden_size, settings.output_dim, bias=False)
    module = q.build_reward_model(config, head, head_in_float32=False)
    state_dict = q.fold_peft(read_weights(checkpoint, "videoalign"), settings.lora_alpha, checkpoint)
    q.load_reward_weights(module, state_dict, checkpoint, "videoalign", dtype)
    logger.info("videoalign: loaded %s (%s) on %s", checkpoint, dtype, device)
    return VideoAlignReward(module.to(device), prompt, vision, settings, max_batch)
