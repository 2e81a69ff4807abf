"""The Sprites world: a built-in procedural video world, its captions, metrics' inputs and tiny models.

Runs on any CPU with no downloads; see :mod:`streamt1.sprites.world` for the scene model.
"""

from streamt1.sprites.captions import caption, parse_caption
from streamt1.sprites.text import TextEncoderConfig, TinySpritesTextEncoder
from streamt1.sprites.world import FPS, FRAME_SIZE, SceneSpec, eval_scenes, render, sample_scene

__all__ = [
    "FPS",
    "FRAME_SIZE",
    "SceneSpec",
    "TextEncoderConfig",
    "TinySpritesTextEncoder",
    "caption",
    "eval_scenes",
    "parse_caption",
    "render",
    "sample_scene",
]
