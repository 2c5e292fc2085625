"""transformers backend: a local causal LM (packaged alias, local folder or an HF id in the offline cache).

``HFBackend.chat`` applies the model's chat template, decodes greedily (temperature 0) or samples from the
temperature-scaled softmax (no top-k/top-p truncation, so the returned log-probs are exactly those of the sampling
policy), honours stop strings and ``max_tokens``, and returns the log-probability of every generated token.
The LoRA MAPPO trainer uses the same object: ``.model``, ``.tokenizer``, ``.encode_chat`` and ``.generate_ids``.

Threads: the backend uses ``torch.get_num_threads()`` as the caller set it; ``num_threads=`` applies a thread count
only for the duration of each call (restored afterwards). Nothing changes global settings on import.
"""
from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from ..errors import DataNotFoundError, InputError, MissingDependencyError
from .adapter import adapter_base, adapter_dir, merge_adapter
from .backend import LLM_BACKENDS, ChatMessage, Completion, as_messages, truncate_at_stop, validate_sampling

if TYPE_CHECKING:
    from .choice import Choice
from .packaged import is_packaged_alias, resolve_packaged

DEFAULT_MODEL = "qwen-0.5b"
_DTYPES = ("float32", "bfloat16", "float16")

# (resolved path, dtype) -> (tokenizer, model): backends built with shared=True reuse loaded weights in a process.
_LOADED: dict[tuple[str, str], tuple[Any, Any]] = {}
_LOAD_LOCK = threading.Lock()


@dataclass
class Generation:
    """Raw output of one decoding run (one sequence).

    prompt_ids: (P,) prompt token ids. ids: (T,) generated token ids, stop/EOS tokens included as generated.
    logprobs: (T,) log-probability of each generated token under the sampling policy. hit_eos: ended by an EOS id.
    """

    prompt_ids: list[int]
    ids: list[int]
    logprobs: list[float]
    hit_eos: bool


def _import_torch_transformers():
    try:
        import torch
        import transformers
    except ImportError as exc:  # pragma: no cover - both are core requirements
        raise MissingDependencyError(f"the hf LLM backend needs torch and transformers ({exc})") from None
    return torch, transformers


def resolve_model_path(model: str) -> tuple[str, bool]:
    """(path or HF id to load, whether it is local). Aliases convert on first use; a missing path -> DataNotFoundError."""
    if is_packaged_alias(model):
        return str(resolve_packaged(model)), True
    p = Path(model).expanduser()
    if p.exists():
        if not (p / "config.json").is_file():
            raise InputError(f"{p} is not a transformers model folder (no config.json)")
        return str(p), True
    if model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise DataNotFoundError(f"model folder {model} does not exist")
    return model, False  # an HF id: must be in the local cache (offline)


def _load(path: str, *, local: bool, dtype: Any, ref: str) -> tuple[Any, Any]:
    _, transformers = _import_torch_transformers()
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=dtype)
    except OSError as exc:
        where = path if local else f"the local Hugging Face cache (offline; no hub downloads): {exc}"
        raise DataNotFoundError(f"cannot load model {ref!r} from {where}") from None
    model.eval()
    return tokenizer, model


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    if not n:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class HFBackend:
    """A chat model run by transformers on CPU.

    model: alias ("qwen-0.5b" | "qwen-1.5b"), a local transformers folder, an HF id present in the local HF cache, or
    a LoRA adapter folder (``llm.adapter``: its base model with the adapter merged; ``.adapter`` is its path).
    dtype: weights dtype ("float32" default; bfloat16 halves memory, slower on most CPUs).
    num_threads: torch threads for each call (None = leave the caller's setting).
    shared: reuse the weights already loaded in this process for the same model and dtype (read-only use). Pass
    False when the model will be modified (LoRA training wraps its modules).
    """

    def __init__(
        self, *, model: str = DEFAULT_MODEL, dtype: str = "float32", num_threads: int | None = None, shared: bool = True
    ) -> None:
        if dtype not in _DTYPES:
            raise InputError(f"dtype must be one of {', '.join(_DTYPES)}; got {dtype!r}")
        if num_threads is not None and num_threads < 1:
            raise InputError(f"num_threads must be >= 1; got {num_threads}")
        torch, _ = _import_torch_transformers()
        self.model_ref = model
        self.name = f"hf:{model}"
        self.num_threads = num_threads
        adapter = adapter_dir(model) if not is_packaged_alias(model) else None
        if adapter is not None:  # base model + LoRA adapter (llm.adapter): merged into a private copy of the base
            self.adapter = str(adapter.resolve())
            path, local = resolve_model_path(adapter_base(adapter))
        else:
            self.adapter = None
            path, local = resolve_model_path(model)
        self.path = path
        with _LOAD_LOCK:
            key = (self.adapter or path, dtype)
            if shared and key in _LOADED:
                self.tokenizer, self.model = _LOADED[key]
            else:
                self.tokenizer, self.model = _load(path, local=local, dtype=getattr(torch, dtype), ref=model)
                if adapter is not None:
                    self.model = merge_adapter(self.model, adapter)
                if shared:
                    _LOADED[key] = (self.tokenizer, self.model)
        self._lock = threading.Lock()
        self.eos_ids = self._eos_ids()
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.eos_ids[0]

    def _eos_ids(self) -> list[int]:
        ids: list[int] = []
        for cand in (self.tokenizer.eos_token_id, getattr(self.model.generation_config, "eos_token_id", None)):
            for i in cand if isinstance(cand, (list, tuple)) else [cand]:
                if i is not None and i not in ids:
                    ids.append(int(i))
        for tok in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>"):
            i = self.tokenizer.convert_tokens_to_ids(tok)
            if isinstance(i, int) and i != self.tokenizer.unk_token_id and i not in ids and i >= 0:
                ids.append(i)
        if not ids:
            raise InputError(f"model {self.model_ref!r} has no end-of-sequence token")
        return ids

    # ---- prompt -------------------------------------------------------------------------------------------------
    def render_chat(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt text: the model's chat template with the assistant turn opened (plain fallback if none)."""
        msgs = [m.to_dict() for m in as_messages(messages)]
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return "".join(f"{m['role']}: {m['content']}\n" for m in msgs) + "assistant:"

    def encode_chat(self, messages: Sequence[ChatMessage]) -> list[int]:
        """Prompt token ids (P,) for ``messages``."""
        return list(self.tokenizer(self.render_chat(messages), add_special_tokens=False)["input_ids"])

    # ---- decoding -----------------------------------------------------------------------------------------------
    def generate_ids(
        self,
        prompt_ids: Sequence[int],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
        model: Any = None,
    ) -> Generation:
        """Decode one continuation of ``prompt_ids``. ``model`` overrides the policy (e.g. a peft-wrapped copy).

        Log-probs are log-softmax of the logits (divided by the temperature when sampling) at the chosen token.
        """
        torch, transformers = _import_torch_transformers()
        validate_sampling(max_tokens=max_tokens, temperature=temperature)
        policy = model if model is not None else self.model
        sample = temperature > 0
        config = transformers.GenerationConfig(
            max_new_tokens=max_tokens,
            do_sample=sample,
            temperature=temperature if sample else 1.0,
            top_k=0 if sample else None,
            top_p=1.0,
            eos_token_id=self.eos_ids,
            pad_token_id=self.pad_id,
            stop_strings=list(stop) if stop else None,
            output_scores=True,
            return_dict_in_generate=True,
        )
        input_ids = torch.tensor([list(prompt_ids)], dtype=torch.long, device=policy.device)
        rng = torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext()
        with self._lock, _torch_threads(self.num_threads), rng, torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            out = policy.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                generation_config=config,
                tokenizer=self.tokenizer if stop else None,
            )
        ids = out.sequences[0, input_ids.shape[1]:].tolist()
        # scores[t]: (1, V) processed logits at step t (temperature applied when sampling)
        logprobs = [
            float(torch.log_softmax(score[0].float(), dim=-1)[tok]) for score, tok in zip(out.scores, ids)
        ]
        ids = ids[: len(logprobs)]
        hit_eos = bool(ids) and ids[-1] in self.eos_ids
        return Generation(prompt_ids=list(prompt_ids), ids=ids, logprobs=logprobs, hit_eos=hit_eos)

    def _kept_token_count(self, ids: list[int], text: str) -> int:
        """Smallest k such that the first k tokens decode to at least ``text`` (the tokens a stop cut keeps)."""
        if not text:
            return 0
        for k in range(1, len(ids) + 1):
            if len(self.tokenizer.decode(ids[:k], skip_special_tokens=True)) >= len(text):
                return k
        return len(ids)

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
    ) -> Completion:
        validate_sampling(max_tokens=max_tokens, temperature=temperature)
        t0 = time.perf_counter()
        prompt_ids = self.encode_chat(messages)
        gen = self.generate_ids(prompt_ids, max_tokens=max_tokens, temperature=temperature, seed=seed, stop=stop)
        body = gen.ids[:-1] if gen.hit_eos else gen.ids
        text = self.tokenizer.decode(body, skip_special_tokens=True)
        text, stopped = truncate_at_stop(text, stop)
        n = self._kept_token_count(body, text) if stopped else len(gen.ids)
        finish = "stop" if (gen.hit_eos or stopped or len(gen.ids) < max_tokens) else "length"
        return Completion(
            text=text,
            prompt_tokens=len(prompt_ids),
            completion_tokens=n,
            seconds=time.perf_counter() - t0,
            token_logprobs=gen.logprobs[:n],
            finish_reason=finish,
        )


    def choose(self, messages: Sequence[ChatMessage], choices: Sequence[str], *, prefix: str = "") -> "Choice":
        """The choice with the highest summed token log-probability as the answer (``llm.choice``)."""
        from .choice import Choice, best, score_choices

        t0 = time.perf_counter()
        with _torch_threads(self.num_threads):
            scores = score_choices(self, messages, choices, prefix=prefix)
        return Choice(choice=best(scores), logprobs=scores, seconds=time.perf_counter() - t0)


@LLM_BACKENDS.register("hf")
def build_hf_backend(
    *, model: str | None = None, base_url: str | None = None, api_key: str | None = None, **options: Any
) -> HFBackend:
    """Factory used by ``load_backend("hf", model=...)``; options: dtype, num_threads, shared."""
    if base_url is not None or api_key is not None:
        raise InputError("the hf backend runs a local model: base_url/api_key belong to the openai backend")
    unknown = set(options) - {"dtype", "num_threads", "shared"}
    if unknown:
        raise InputError(f"unknown option(s) for the hf backend: {', '.join(sorted(unknown))}")
    return HFBackend(model=model or DEFAULT_MODEL, **options)
