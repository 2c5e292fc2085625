import torch

from affectagent.nanoemox.config import QFormerConfig, SpeechBranchConfig
from affectagent.nanoemox.speech import SpeechBranch


def _frames(b, t, f, seed=0):
    return torch.randn(b, t, f, generator=torch.Generator().manual_seed(seed))


def test_speech_branch_gives_32_tokens_from_whisper_width_frames():
    torch.manual_seed(0)
    branch = SpeechBranch(config=SpeechBranchConfig(qformer=QFormerConfig(dim=32, heads=4))).eval()
    out = branch(frames=_frames(3, 80, 384), mask=torch.ones(3, 80, dtype=torch.bool))
    assert out.shape == (3, 32, 32)
