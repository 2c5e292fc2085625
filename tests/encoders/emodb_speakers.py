"""Real EmoDB utterances grouped by speaker, for the speech-emotion tests."""
from __future__ import annotations


def emodb_by_speaker() -> dict[str, list]:
    """{speaker id: that speaker's labelled EmoDB samples}, speakers in sorted order."""
    from affectagent.train.speech_emotion import load_speech_corpora

    by: dict[str, list] = {}
    for s in load_speech_corpora(("emodb:all",), None):
        by.setdefault(s.group, []).append(s)
    return dict(sorted(by.items()))
