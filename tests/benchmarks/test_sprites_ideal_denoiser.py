"""``benchmarks/sprites_ideal_denoiser.py`` follows pixel latents only: it names what it needs for a learned codec."""

import subprocess
import sys
from pathlib import Path

from streamt1.sprites.rewards import DEFAULT_WEIGHTS_DIR

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "sprites_ideal_denoiser.py"


def test_the_built_in_learned_codec_weights_are_refused_with_what_to_run_instead():
    done = subprocess.run([sys.executable, str(SCRIPT), "--weights", str(DEFAULT_WEIGHTS_DIR), "--num-scenes", "1"],
                          capture_output=True, text=True, cwd=ROOT / "benchmarks")
    assert done.returncode == 1
    assert "uses a learned codec" in done.stderr and "PixelUnshuffle weights" in done.stderr
