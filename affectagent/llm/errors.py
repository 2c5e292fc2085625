"""Errors of remote language-model servers (all AffectAgentError: the CLI prints one line, exit 2)."""
from __future__ import annotations

from ..errors import AffectAgentError


class LLMServerError(AffectAgentError):
    """The server answered with an error (5xx after all retries, or another unusable status)."""


class LLMUnreachableError(LLMServerError):
    """No connection could be made (refused, DNS, timeout) after all retries."""


class LLMAuthError(LLMServerError):
    """The server rejected the API key (401/403)."""


class LLMRequestError(LLMServerError):
    """The server rejected the request (4xx other than auth): wrong model name, bad parameter, wrong URL."""


class LLMResponseError(LLMServerError):
    """The server's answer is not the JSON an OpenAI-compatible server returns."""


class LLMTimeoutError(LLMUnreachableError):
    """No complete answer arrived within the call's total deadline (``--llm-timeout`` / AFFECTAGENT_LLM_TIMEOUT)."""
