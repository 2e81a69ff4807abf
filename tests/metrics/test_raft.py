"""VBench's dynamic degree rule, and RAFT read from the released DataParallel state dict."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from streamt1.metrics import raft


def test_threshold_and_required_count_follow_vbench():
    # 480 x 832: threshold 6 * 480 / 256 = 11.25; 16 sampled frames need round(4) = 4 moving pairs
    assert raft.is_dynamic([12.0] * 4 + [0.0] * 11, 16, 480, 832)
    assert not raft.is_dynamic([12.0] * 3 + [11.25] * 12, 16, 480, 832)  # equal is not above
    assert raft.is_dynamic([0.0], 2, 480, 832)  # round(0.5) = 0 pairs needed: any pair counts
    assert not raft.is_dynamic([], 1, 480, 832)  # no pair at all


def test_top_motion_is_the_mean_of_the_largest_five_percent():
    flow = torch.zeros(2, 20, 20)
    flow[0] = 1.0
    flow[0, 0, :20], flow[1, 0, :20] = 3.0, 4.0  # 20 of 400 pixels move by 5
    assert raft.top_motion(flow) == pytest.approx(5.0)


class DifferenceFlow(nn.Module):
    """A stand-in flow: u = mean colour change per pixel, v = 0 (so motion is known exactly)."""

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(()))  # gives the module a device
        self.shapes: list[tuple[int, ...]] = []

    def forward(self, image1: torch.Tensor, image2: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(image1.shape))
        u = (image2 - image1).mean(1)
        return torch.stack([u, torch.zeros_like(u)], 1)


def test_dynamic_degree_samples_about_8_fps_and_pads_to_multiples_of_8():
    still = torch.full((12, 3, 20, 30), 100, dtype=torch.uint8)
    model = DifferenceFlow()
    assert raft.dynamic_degree(still, 24.0, model) == 0.0  # every 3rd frame: 4 frames, 3 pairs, none move
    assert len(model.shapes) == 3 and model.shapes[0] == (1, 3, 24, 32)
    jumps = still.clone()
    jumps[3:6] = 120  # frames 0, 3, 6, 9 sampled: 100 -> 120 -> 100 -> 100: two pairs move by 20
    # threshold 6 * 20 / 256 = 0.47; 4 frames need round(1) = 1 moving pair
    assert raft.dynamic_degree(jumps, 24.0, DifferenceFlow()) == 1.0
    assert raft.dynamic_degree(jumps[:3], 24.0, DifferenceFlow()) == 0.0  # one frame: no pair


@pytest.fixture(scope="module")
def raft_file(tmp_path_factory):
    torch.manual_seed(0)
    sd = {f"module.{k}": v for k, v in raft.Raft().state_dict().items()}  # saved from DataParallel
    path = tmp_path_factory.mktemp("raft") / "raft-things.pth"
    torch.save(sd, path)
    return path


def test_raft_loads_the_released_layout_and_runs(raft_file):
    model = raft.load_raft(raft_file)
    names = set(model.state_dict())
    for key in ("fnet.layer3.1.conv2.weight", "cnet.norm1.running_var", "cnet.layer2.0.norm3.weight",
                "cnet.layer2.0.downsample.1.running_mean", "update_block.gru.convq2.bias",
                "update_block.encoder.convc2.weight", "update_block.mask.2.weight",
                "update_block.flow_head.conv2.bias"):  # names from RAFT's core/ code
        assert key in names
    assert round(sum(p.numel() for p in model.parameters()) / 1e5) == 53  # RAFT: 5.3 M parameters
    frames = torch.rand(2, 1, 3, 128, 128) * 255
    with torch.no_grad():
        flow = model(frames[0], frames[1], iters=2)
        assert flow.shape == (1, 2, 128, 128) and torch.isfinite(flow).all()
        with pytest.raises(ValueError, match="at least 128 x 128"):
            model(frames[0, ..., :64], frames[1, ..., :64])
