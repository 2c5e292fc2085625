"""``affectagent features PATH [--text "..."] [--json]``: show what the encoders extract from a clip, an audio file, a
still image (one face frame, no audio) or a text."""
from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

from ..errors import InputError


def register(subparsers: Any) -> None:
    from ..encoders.config import DEFAULT_ASR, DEFAULT_AUDIO_ENCODER, DEFAULT_TEXT_ENCODER
    from ..media.config import MediaConfig

    d = MediaConfig()
    p = subparsers.add_parser(
        "features", help="decode a clip / audio file / image / text and print the extracted features",
        description="Decode media, transcribe speech, run the text/audio/face encoders and print a summary "
                    "(duration, transcript, frames with a face, audio stats, embedding shapes, modality mask).",
    )
    p.add_argument("path", nargs="?", help="video, audio or still-image file (mp4, mkv, webm, avi, mov, flv, wav, mp3, "
                                           "flac, ogg; jpg, png, webp, bmp: one face frame, no audio)")
    p.add_argument("--text", help="utterance text (skips ASR); alone, encodes just the text")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a readable summary")
    p.add_argument("--text-encoder", default=DEFAULT_TEXT_ENCODER,
                   help=f"e5, minilm, or a local sentence-transformers path (default: {DEFAULT_TEXT_ENCODER})")
    p.add_argument("--audio-encoder", default=DEFAULT_AUDIO_ENCODER, help=f"default: {DEFAULT_AUDIO_ENCODER}")
    p.add_argument("--asr", default=DEFAULT_ASR, help=f"default: {DEFAULT_ASR}")
    p.add_argument("--speech-emotion", default="none",
                   help="speech-emotion branch whose posterior to print: default (ComParE + Whisper), whisper "
                        "(MIT-licensed), a model .npz from `affectagent train speech`, or none (default)")
    p.add_argument("--transcribe", action=argparse.BooleanOptionalAction, default=True,
                   help="run speech recognition when there is audio and no --text (default: on)")
    p.add_argument("--fps", type=float, default=d.fps, help=f"video frames sampled per second (default: {d.fps})")
    p.add_argument("--max-frames", type=int, default=d.max_frames, help=f"cap on sampled frames (default: {d.max_frames})")
    p.add_argument("--max-seconds", type=float, default=d.max_seconds,
                   help=f"reject inputs longer than this (default: {d.max_seconds:.0f})")
    p.add_argument("--cache", action=argparse.BooleanOptionalAction, default=True,
                   help="use the on-disk feature cache (default: on)")
    p.add_argument("--cache-dir", help="feature cache directory (default: $AFFECTAGENT_FEATURE_CACHE or ~/.cache/affectagent/features)")
    p.set_defaults(func=run)


def _shape(x: Any) -> list[int] | None:
    return None if x is None else list(x.shape)


def summarize(feats: Any, *, path: str | None, text: str | None, kind: str | None = None) -> dict[str, Any]:
    """JSON-ready summary of a ``Features`` (shapes, not arrays). ``kind``: video | audio | image (None: text)."""
    info = feats.info
    return {
        "id": info.get("id"),
        "path": path,
        "kind": kind,
        "text": text,
        "duration": info.get("duration"),
        "transcript": feats.transcript,
        "transcript_language": info.get("transcript_language"),
        "modality_mask": feats.mask.as_dict(),
        "n_frames": info.get("n_frames"),
        "n_face_frames": info.get("n_face_frames"),
        "audio": info.get("audio_stats"),
        "embeddings": {
            "text_emb": _shape(feats.text_emb), "audio_emb": _shape(feats.audio_emb), "audio_seq": _shape(feats.audio_seq),
            "face_seq": _shape(feats.face_seq), "visual_emb": _shape(feats.visual_emb),
        },
        "branch_probs": {m: {k: round(v, 4) for k, v in p.items()} for m, p in feats.branch_probs.items()},
        "encoders": info.get("encoders", {}),
        "notes": info.get("notes", []),
        "visual_error": info.get("visual_error"),
        "cached": info.get("cached", []),
        "timings_s": info.get("timings", {}),
    }


def _print_readable(s: dict[str, Any]) -> None:
    mask = " ".join(f"{m}={'yes' if v else 'no'}" for m, v in s["modality_mask"].items())
    print(f"input:       {s['path'] or '(text only)'}" + (f"  [{s['kind']}]" if s.get("kind") else ""))
    if s["duration"] is not None:
        print(f"duration:    {s['duration']:.2f} s")
    if s["text"]:
        print(f"text:        {s['text']}")
    if s["transcript"] is not None:
        print(f"transcript:  {s['transcript'] or '(no speech)'}  [{s['transcript_language'] or '-'}]")
    if s["n_frames"] is not None:
        faces = s["n_face_frames"]
        print(f"frames:      {s['n_frames']} sampled, {faces if faces is not None else '?'} with a face")
    if s["audio"]:
        a = s["audio"]
        print(f"audio:       RMS {a.get('rms_dbfs')} dBFS, peak {a.get('peak_dbfs')} dBFS, speech {a.get('speech_ratio', 0):.0%}"
              f", F0 {a.get('f0_semitone_mean', '-')} st")
    for m, probs in s.get("branch_probs", {}).items():
        top = sorted(probs.items(), key=lambda kv: -kv[1])[:3]
        print(f"{m + ' branch:':<12} " + ", ".join(f"{k} {v:.2f}" for k, v in top))
    print(f"mask:        {mask}")
    for k, v in s["embeddings"].items():
        if v is not None:
            print(f"{k + ':':<12} {tuple(v)}")
    for k, v in s["encoders"].items():
        print(f"encoder:     {k} = {v}")
    for n in s["notes"]:
        print(f"note:        {n}")
    if s["cached"]:
        print(f"cached:      {', '.join(s['cached'])}")


def run(args: argparse.Namespace) -> int:
    from ..encoders import ExtractConfig, FeatureCache, MissingEncoderWarning, extract
    from ..media import MediaConfig, probe
    from ..schema import Sample
    from ..textsafe import clean_input, edge_note, printable_path, scrub

    if not args.path and not args.text:
        raise InputError("give a media PATH and/or --text \"...\"")
    args.text = clean_input(args.text, what="--text", note=edge_note)
    if args.text is not None and not args.text.strip():
        raise InputError("--text is empty")
    try:
        media = MediaConfig(fps=args.fps, max_frames=args.max_frames, max_seconds=args.max_seconds)
        cfg = ExtractConfig(media=media, text_encoder=args.text_encoder, audio_encoder=args.audio_encoder, asr=args.asr,
                            transcribe=args.transcribe, speech_emotion=args.speech_emotion)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    cache = FeatureCache(args.cache_dir, enabled=args.cache)
    sample_id = clean_input(Path(args.path).name, what="the file name", note=edge_note) if args.path else "text"
    video = audio = kind = None
    if args.path:
        info = probe(args.path, max_bytes=media.max_bytes, max_seconds=media.max_seconds)
        kind = info.kind
        if info.has_video:  # a still image too: a one-frame video without audio
            video = args.path
        else:
            audio = args.path
    sample = Sample(id=sample_id, text=args.text, video=video, audio=audio)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingEncoderWarning)  # shown as notes below
        feats = extract(sample, config=cfg, cache=cache)
    summary = summarize(feats, path=printable_path(args.path) if args.path else None, text=args.text, kind=kind)
    if args.json:
        print(scrub(json.dumps(summary, indent=2, ensure_ascii=False))[0])
    else:
        _print_readable(summary)
    return 0
