"""Cost of the paper's rewards next to the generator, and Stream-T1 end to end, on one GPU.

Everything at full size with random weights (weights do not change the cost), bf16:

* generator: causal Wan2.1-T2V-1.3B, LongLive streaming, 832x480 (``wan_gpu.build_generator``), with the
  real Wan2.1 VAE architecture from diffusers (``AutoencoderKLWan``, random weights) as its codec;
* HPSv3: Qwen2-VL-7B (hidden 3584, 28 layers; ViT 32 blocks) + the 3-layer head in float32;
* VideoAlign: Qwen2-VL-2B (hidden 1536, 28 layers; ViT 32 blocks) + the bias-free head.

Both rewards are built by the project's own classes (``streamt1.rewards.hpsv3`` / ``videoalign``), so
preprocessing (PIL resize, patching, chat prompt) is included in their time. Only the tokenizer is a
stand-in: a byte-level BPE trained on the prompt templates (the real Qwen2 tokenizer is not on the machine);
text is ~300 tokens per sample against 252 (HPSv3) / 1260 (VideoAlign) vision tokens.

Printed, in one run:

1. per chunk, HPSv3 over K*M = 4 candidates x 12 frames and VideoAlign over 4 ten-chunk windows, and
   the generator's time for the same chunk (measured in step 2), as a fraction; plus the cheaper
   short-score settings (fewer frames per chunk, smaller pixel budget);
2. Stream-T1 K=2, M=2 end to end for 5 s and 30 s: seconds per chunk, the rewards' share, peak memory.

Usage::

    python benchmarks/rewards_gpu.py            # full size, CUDA (about 4 minutes on an H200)
    python benchmarks/rewards_gpu.py --tiny     # tiny models on CPU: does the script work?
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from wan_gpu import GIB, PROMPT, TimedGenerator, TimedReward, build_generator, sync  # noqa: E402

from streamt1.config import build_config  # noqa: E402
from streamt1.models.wan_vae import WanVAECodec  # noqa: E402
from streamt1.rewards import hpsv3, videoalign  # noqa: E402
from streamt1.rewards import qwen2vl as q  # noqa: E402
from streamt1.search.beam import StreamSearch  # noqa: E402

SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>",
]
# Qwen2-VL-7B-Instruct / -2B-Instruct config.json values (the fields the model reads).
QWEN2VL = {
    "7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
               num_key_value_heads=4, tie_word_embeddings=False, vision_hidden=3584),
    "2b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
               num_key_value_heads=2, tie_word_embeddings=True, vision_hidden=1536),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, tie_word_embeddings=False, vision_hidden=64),
}
PREPROCESSOR = {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2,
                "merge_size": 2, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                "image_std": [0.26862954, 0.26130258, 0.27577711]}
CHAT_TEMPLATE = (  # Qwen2-VL-Instruct's template, without the add_vision_id branch (unused here)
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if "
    "message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in "
    "message['content'] %}{% if content['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in "
    "content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if "
    "add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def stand_in_tokenizer(extra_tokens: list[str]):
    """Byte-level BPE trained on the reward prompts, ~1 token per word like Qwen2's tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [hpsv3.INSTRUCTION, hpsv3.PROMPT_WITH_SPECIAL_TOKEN, videoalign.DETAILED_PROMPT_WITH_SPECIAL_TOKEN,
              PROMPT, "You are a helpful assistant. system user assistant"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(corpus * 8, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.add_special_tokens({"additional_special_tokens": extra_tokens})
    return tok


def base_folder(folder: Path, size: str, tok) -> Path:
    """A Qwen2-VL base folder (config, preprocessor, chat template): what the loaders read besides weights."""
    dims = dict(QWEN2VL[size])
    vision_hidden = dims.pop("vision_hidden")
    vision = (dict(depth=32, embed_dim=1280, num_heads=16, mlp_ratio=4) if size != "tiny"
              else dict(depth=2, embed_dim=32, num_heads=4, mlp_ratio=2))
    ids = {n: tok.convert_tokens_to_ids(f"<|{n}|>") for n in ("vision_start", "vision_end", "vision_pad",
                                                             "image_pad", "video_pad")}
    config = {
        "architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl", "vocab_size": len(tok),
        **dims, "hidden_act": "silu", "rms_norm_eps": 1e-6, "max_position_embeddings": 32768,
        "rope_theta": 1e6, "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24] if size != "tiny"
                                            else [2, 3, 3]},
        "bos_token_id": ids["vision_pad"], "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id,
        "vision_start_token_id": ids["vision_start"], "vision_end_token_id": ids["vision_end"],
        "vision_token_id": ids["vision_pad"], "image_token_id": ids["image_pad"],
        "video_token_id": ids["video_pad"], "torch_dtype": "bfloat16",
        "vision_config": {**vision, "hidden_size": vision_hidden, "in_chans": 3, "in_channels": 3,
                          "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
                          "hidden_act": "quick_gelu"},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR))
    return folder


def randomise(module: nn.Module, device: torch.device, dtype: torch.dtype) -> nn.Module:
    """Give a meta-parameter reward model random weights on ``device`` (std 0.02), head as the authors keep it."""
    g = torch.Generator(device).manual_seed(0)
    weights = {name: torch.randn(p.shape, device=device, dtype=dtype, generator=g) * 0.02
               for name, p in module.named_parameters()}
    module.load_state_dict(weights, strict=True, assign=True)
    if module.head_in_float32:
        module.rm_head.float()
    return module.to(device).eval().requires_grad_(False)


def build_rewards(size_image: str, size_video: str, device: torch.device, dtype: torch.dtype, root: Path):
    """HPSv3 and VideoAlign objects of the given backbone sizes with random weights."""
    tok = stand_in_tokenizer([hpsv3.REWARD_TOKEN])
    base = base_folder(root / "hpsv3", size_image, tok)
    config = q.read_qwen2vl_config(base, len(tok), tok.pad_token_id, "hpsv3")
    vision = q.VisionSpec.read(base / "preprocessor_config.json", config.vision_config, "hpsv3")
    prompt = q.ChatPrompt(tok, CHAT_TEMPLATE, "image", [hpsv3.REWARD_TOKEN], "hpsv3")
    module = q.build_reward_model(config, hpsv3.build_head(q.text_config_of(config).hidden_size), True)
    image = hpsv3.HPSv3Reward(randomise(module, device, dtype), prompt, vision, max_batch=48)
    return image, build_videoalign(size_video, device, dtype, root)


def build_videoalign(size: str, device: torch.device, dtype: torch.dtype, root: Path) -> videoalign.VideoAlignReward:
    """VideoAlign (VQ / MQ / TA) of the given backbone size with random weights."""
    tok = stand_in_tokenizer(list(videoalign.READ_TOKENS))
    base = base_folder(root / "videoalign", size, tok)
    config = q.read_qwen2vl_config(base, len(tok), tok.pad_token_id, "videoalign")
    vision = q.VisionSpec.read(base / "preprocessor_config.json", config.vision_config, "videoalign")
    prompt = q.ChatPrompt(tok, CHAT_TEMPLATE, "video", videoalign.READ_TOKENS, "videoalign")
    head = nn.Linear(q.text_config_of(config).hidden_size, 1, bias=False)
    module = q.build_reward_model(config, head, False)
    settings = videoalign.VideoAlignSettings(fps=2.0, num_frames=None, max_pixels=200704, lora_alpha=None,
                                             output_dim=1, means=(3.6757, 1.1646, 2.8105),
                                             stds=(2.2476, 1.3811, 2.5121))  # the released model_config.json
    return videoalign.VideoAlignReward(randomise(module, device, dtype), prompt, vision, settings, max_batch=4)


def seconds(fn, device: torch.device, iters: int = 3) -> float:
    fn()  # warm-up
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync(device)
    return (time.perf_counter() - start) / iters


def per_chunk_rewards(image, video, spec, device: torch.device) -> dict[str, float]:
    """Seconds of each reward call on one chunk's K*M = 4 candidates, paper settings and cheaper ones."""
    g = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (4 * spec.frames_per_chunk, 3, spec.height, spec.width), generator=g,
                           dtype=torch.uint8)
    window = spec.decoded_frames(10)
    clips = torch.randint(0, 256, (4, window, 3, spec.height, spec.width), generator=g, dtype=torch.uint8)
    prompts = [PROMPT] * frames.shape[0]
    rows = {"hpsv3 4x12 frames (paper)": seconds(lambda: image(frames, prompts), device)}
    every4 = frames.view(4, spec.frames_per_chunk, *frames.shape[1:])[:, ::4].flatten(0, 1)
    rows[f"hpsv3 4x{every4.shape[0] // 4} frames (every 4th)"] = seconds(
        lambda: image(every4, prompts[: every4.shape[0]]), device)
    paper_pixels, image.pixels = image.pixels, 128 * 28 * 28
    rows["hpsv3 4x12 frames, 100352 px"] = seconds(lambda: image(frames, prompts), device)
    image.pixels = paper_pixels
    rows[f"videoalign 4 windows x {window} frames"] = seconds(lambda: video(clips, [PROMPT] * 4, spec.fps), device)
    return rows


def end_to_end(generator, image, video, num_frames: int, device: torch.device, overrides: list[str]) -> dict:
    timed_gen = TimedGenerator(generator)
    timed_image, timed_video = TimedReward(image, device), TimedReward(video, device)
    config = build_config("stream-t1", None, overrides).search
    search = StreamSearch(timed_gen, config, timed_image, timed_video, "stream-t1")
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    sync(device)
    start = time.perf_counter()
    result = search.run(PROMPT, num_frames, seed=0, progress=False)
    sync(device)
    total = time.perf_counter() - start
    chunks = num_frames // generator.spec.latent_frames
    s = timed_gen.seconds
    return {
        "latent_frames": num_frames, "px_frames": int(result.frames.shape[0]), "chunks": chunks,
        "total_s": total, "s_per_chunk": total / chunks,
        "generator_s_per_chunk": (s["denoise"] + s["commit"]) / chunks, "decode_s_per_chunk": s["decode"] / chunks,
        "hpsv3_s_per_chunk": timed_image.seconds / chunks,
        "videoalign_s_per_chunk": timed_video.seconds / chunks,  # includes the final pick
        "reward_share": (timed_image.seconds + timed_video.seconds) / total,
        "peak_gib": torch.cuda.max_memory_allocated(device) / GIB if device.type == "cuda" else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny models on CPU (checks the script)")
    parser.add_argument("--lengths", default="21,120", help="latent frames of the end-to-end runs (5 s, 30 s)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="search settings of the end-to-end runs, e.g. --set search.short_frame_stride=4")
    parser.add_argument("--e2e-only", action="store_true", help="skip the per-chunk reward timings")
    args = parser.parse_args()
    device = torch.device("cpu" if args.tiny else "cuda")
    dtype = torch.float32 if args.tiny else torch.bfloat16
    torch.backends.cuda.matmul.allow_tf32 = True

    generator = build_generator(args.tiny, device)
    if not args.tiny:  # the real Wan2.1 VAE architecture (random weights) instead of the stand-in codec
        from diffusers import AutoencoderKLWan

        with device:
            vae = AutoencoderKLWan()
        generator.codec = WanVAECodec(vae.to(device=device, dtype=dtype))
    with tempfile.TemporaryDirectory() as tmp:
        image, video = build_rewards("tiny" if args.tiny else "7b", "tiny" if args.tiny else "2b", device, dtype,
                                     Path(tmp))
    spec = generator.spec
    print(f"device {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}, "
          f"frames {spec.height}x{spec.width}, chunk {spec.frames_per_chunk} frames, torch {torch.__version__}")

    rows = {} if args.e2e_only else per_chunk_rewards(image, video, spec, device)

    runs = [end_to_end(generator, image, video, int(n), device, args.overrides) for n in args.lengths.split(",")]
    gen_chunk = runs[-1]["generator_s_per_chunk"]
    print(f"\n1. rewards per chunk (K*M = 4 candidates) vs the generator's {gen_chunk:.3f} s for one chunk")
    for name, s in rows.items():
        print(f"   {name:<40} {s:7.3f} s  {100 * s / gen_chunk:6.1f} % of generator")
    print(f"\n2. Stream-T1 K=2, M=2 end to end {' '.join(args.overrides)}")
    print(f"   {'latent':>6} {'px':>4} {'s/chunk':>8} {'gen':>6} {'decode':>7} {'hpsv3':>6} {'v.align':>7} "
          f"{'reward share':>12} {'peak GiB':>8}")
    for r in runs:
        print(f"   {r['latent_frames']:>6} {r['px_frames']:>4} {r['s_per_chunk']:8.3f} {r['generator_s_per_chunk']:6.3f} "
              f"{r['decode_s_per_chunk']:7.3f} {r['hpsv3_s_per_chunk']:6.3f} {r['videoalign_s_per_chunk']:7.3f} "
              f"{100 * r['reward_share']:11.1f}% {r['peak_gib']:8.2f}")


if __name__ == "__main__":
    main()
