"""The backbone loaders read the released file formats and compute what the original networks compute."""

from __future__ import annotations

import io
import pickle
import zipfile

import pytest
import torch

from streamt1.metrics import backbones, vbench
from streamt1.models.checkpoints import CheckpointError

from tiny_vbench import clip_load_on_cpu, dino_reference, tiny_weights  # noqa: F401  (session fixture)


def test_dino_loads_the_released_layout_and_matches_the_reference_on_non_square_frames(tiny_weights):
    model = backbones.load_dino_vit(tiny_weights.root / vbench.DINO_FILE)
    images = torch.randn(3, 3, 224, 388)  # VBench's 480x832 frames after Resize(224): a 14 x 24 grid
    expected = dino_reference(tiny_weights.dino_sd, images)
    torch.testing.assert_close(model(images), expected, atol=1e-5, rtol=1e-4)
    square = torch.randn(2, 3, 224, 224)
    torch.testing.assert_close(model(square), dino_reference(tiny_weights.dino_sd, square), atol=1e-5, rtol=1e-4)


def test_openai_torchscript_archive_is_read_without_jit_and_matches_encode_image(tiny_weights):
    for reference, relative in ((tiny_weights.clip_b32, vbench.CLIP_B32_FILE),
                                (tiny_weights.clip_l14, vbench.CLIP_L14_FILE)):
        tensors = backbones.read_torchscript_tensors(tiny_weights.root / relative)
        assert set(tensors) == set(reference.state_dict())  # text keys too: the reader keeps every tensor
        model = backbones.load_clip_visual(tiny_weights.root / relative)
        images = torch.randn(2, 3, 224, 224)
        with torch.no_grad():
            torch.testing.assert_close(model(images), clip_load_on_cpu(reference)(images), atol=1e-5, rtol=1e-4)
            # the tiny archive holds fp32 weights, so the rounding is visible (OpenAI's files are fp16 already)
            assert (model(images) - reference(images)).abs().max() > 1e-4



def test_openai_half_keeps_layer_norms_in_fp32_and_stays_close_to_fp32(tiny_weights):
    model = backbones.load_clip_visual(tiny_weights.root / vbench.CLIP_B32_FILE, half=True)
    assert model.conv1.weight.dtype == torch.float16 and model.proj.dtype == torch.float16
    assert model.ln_pre.weight.dtype == torch.float32 and model.positional_embedding.dtype == torch.float32
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        out = model(images)
        assert out.dtype == torch.float16
        torch.testing.assert_close(out.float(), tiny_weights.clip_b32(images), atol=1e-2, rtol=1e-2)


def test_archive_with_a_foreign_global_is_refused_without_running_it(tmp_path):
    payload = pickle.dumps(_Exploit(), protocol=2)
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", payload)
        archive.writestr("evil/constants.pkl", pickle.dumps(()))
    with pytest.raises(CheckpointError, match="posix.system|os.system|does not load"):
        backbones.read_any_checkpoint(path)
    assert not (tmp_path / "pwned").exists()


class _Exploit:
    def __reduce__(self):
        import os

        return os.system, ("touch pwned",)


def test_linear_head_rejects_other_state_dicts(tmp_path):
    path = tmp_path / "head.pth"
    torch.save({"weight": torch.zeros(1, 8)}, path)
    with pytest.raises(CheckpointError, match="linear layer"):
        backbones.load_linear_head(path)


def test_plain_state_dict_is_read_with_weights_only(tmp_path):
    buffer = io.BytesIO()
    torch.save({"weight": torch.ones(1, 4), "bias": torch.zeros(1)}, buffer)
    path = tmp_path / "head.pth"
    path.write_bytes(buffer.getvalue())
    head = backbones.load_linear_head(path)
    with torch.no_grad():
        assert float(head(torch.ones(1, 4))) == 4.0
