"""``ServiceSettings``: the limits and folders of the HTTP service (one typed config, validated on creation)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

MIB = 1 << 20


@dataclass(frozen=True)
class ServiceSettings:
    """How the web service treats requests.

    max_upload_mb:     largest uploaded media file in MiB (bigger: HTTP 413, refused while streaming, before decoding).
    max_media_seconds: longest accepted media duration in seconds (longer: HTTP 413).
    max_text_chars:    longest accepted utterance text (and each context turn), in characters.
    max_context_turns: most dialogue-context turns accepted in one request.
    max_json_kb:       largest JSON body in KiB.
    max_pending:       predictions allowed to wait for the model at once; one more gets HTTP 503 (server busy).
    upload_dir:        parent folder of the per-request temporary folders (default: the system temp folder).
                       Each request's folder is deleted when the request ends, whatever happened.
    """

    max_upload_mb: float = 200.0
    max_media_seconds: float = 600.0
    max_text_chars: int = 10_000
    max_context_turns: int = 50
    max_json_kb: int = 1024
    max_pending: int = 16
    upload_dir: Path | None = None

    def __post_init__(self) -> None:
        positive = {"max_upload_mb": self.max_upload_mb, "max_media_seconds": self.max_media_seconds,
                    "max_text_chars": self.max_text_chars, "max_context_turns": self.max_context_turns,
                    "max_json_kb": self.max_json_kb, "max_pending": self.max_pending}
        for name, value in positive.items():
            if not value > 0:
                raise InputError(f"{name} must be > 0; got {value}")
        if self.upload_dir is not None:
            path = Path(self.upload_dir)
            if not path.is_dir():
                raise InputError(f"upload folder not found: {path}")
            object.__setattr__(self, "upload_dir", path)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MIB)

    @property
    def max_json_bytes(self) -> int:
        return self.max_json_kb * 1024

    @property
    def max_form_bytes(self) -> int:
        """Whole multipart body: the file plus room for the text fields and the multipart framing."""
        fields = self.max_text_chars * 4 * (self.max_context_turns + 2)  # UTF-8: at most 4 bytes per character
        return self.max_upload_bytes + fields + 64 * 1024
