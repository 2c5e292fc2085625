"""Speech the English ASR cannot read: the pure rules, the multilingual Whisper base's language ID and the extract
stage on real EmoDB (German) and RAVDESS (English) clips."""
from __future__ import annotations

import pytest

from affectagent.encoders import ExtractConfig, extract, get_asr
from affectagent.encoders.base import Transcript
from affectagent.encoders.cache import FeatureCache
from affectagent.encoders.speech_language import check_language, confidence_use, language_use
from affectagent.errors import InputError
from affectagent.media import load_audio
from affectagent.schema import Sample
from tests.resources import shared

_DE, _EN = "emodb/audio/08a01Ab.flac", "ravdess_speech/Actor_01/03-01-01-01-01-01-01.flac"
EMODB = shared(_DE) / _DE          # "Der Lappen liegt auf dem Eisschrank."
RAVDESS = shared(_EN) / _EN        # "Kids are talking by the door."


def test_language_rules_hand_cases():
    assert check_language(" DE ") == "de" and check_language("auto") == "auto"
    for bad in ("", "german", "e1", "auto-detect"):
        with pytest.raises(InputError, match="language code"):
            check_language(bad)
    assert language_use("en", declared=True).use and language_use(None, declared=False).use
    de = language_use("de", probability=0.99, declared=False)
    assert not de.use and de.reason == "language" and "German (identified, p 0.99)" in de.note
    assert "(declared)" in language_use("de", declared=True).note
    low = Transcript(text="Tell up and lick of him.", avg_logprob=-1.1)
    assert not confidence_use(low, min_logprob=-0.8).use
    assert confidence_use(low, min_logprob=None).use                     # guard off
    assert confidence_use(Transcript(text="Kids are talking.", avg_logprob=-0.5), min_logprob=-0.8).use
    assert confidence_use(Transcript(text="x", avg_logprob=None), min_logprob=-0.8).use   # unknown: kept


def test_config_checks_the_language_and_threshold():
    assert ExtractConfig(language="DE").language == "de"
    with pytest.raises(InputError):
        ExtractConfig(language="klingon!")
    with pytest.raises(ValueError, match="min_asr_logprob"):
        ExtractConfig(min_asr_logprob=0.5)


def test_whisper_base_identifies_german_and_english():
    lid = get_asr("whisper-base")
    lang, p = lid.identify_language(load_audio(EMODB))
    assert lang == "de" and p > 0.8
    lang, p = lid.identify_language(load_audio(RAVDESS))
    assert lang == "en" and p > 0.8
    tr = lid.transcribe(load_audio(EMODB))                 # multilingual decoding, language detected
    assert tr.language == "de" and "lappen" in tr.text.lower()


def test_tiny_en_reports_lower_confidence_on_german():
    asr = get_asr("whisper-tiny")
    de, en = asr.transcribe(load_audio(EMODB)), asr.transcribe(load_audio(RAVDESS))
    assert de.avg_logprob is not None and en.avg_logprob is not None
    assert de.avg_logprob < ExtractConfig().min_asr_logprob < en.avg_logprob


@pytest.mark.parametrize("language", ["en", "auto", "de"])
def test_extract_keeps_german_speech_out_of_the_text_branch(tmp_path, language):
    cache = FeatureCache(tmp_path)
    cfg = ExtractConfig(language=language)
    de = extract(Sample(id="de", audio=EMODB), config=cfg, cache=cache)
    assert not de.mask.text and not de.transcript                  # nothing fed the text branch ...
    assert de.mask.audio                                           # ... the voice is still read
    notes = " ".join(de.info["notes"])
    assert "asr:" in notes and "text branch" in notes              # ... and the trace says why
    assert de.info["transcript_skipped"] == ("low_confidence" if language == "en" else "language")
    if language == "en":
        assert de.info["transcript_dropped"]                       # the dropped decode is kept for the reader
    if language == "auto":
        assert de.info["speech_language"]["language"] == "de"
    en = extract(Sample(id="en", audio=RAVDESS), config=cfg, cache=cache)
    if language == "de":                                           # a declared language is believed
        assert not en.mask.text
    else:
        assert en.mask.text and "door" in en.transcript.lower() and "transcript_skipped" not in en.info
