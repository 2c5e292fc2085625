"""RAER on a loaded ``api.AffectAgent``: pick the backbone (neural agents or an LLM backend), encode a corpus the way
``evaluate`` does, and run the growth epochs. The CLI (``affectagent raer run``) and ``bench/raer.py`` call this."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

from .. import datasets
from ..encoders.inputs import encode_inputs
from ..errors import InputError
from ..metrics.evaluate import score_predictions
from ..schema import EncodedInput, Sample
from ..train.recipe import extract_config_for
from ..train.sft import run_inference
from .config import RAERConfig
from .config import GrowthConfig
from .growth import GrowthResult, Reasoner, run_growth
from .neural import NeuralRAER

BACKBONES: tuple[str, ...] = ("neural", "llm", "openai")


def make_reasoner(agent, *, backbone: str = "neural", config: RAERConfig = RAERConfig(),
                  llm: dict[str, Any] | None = None) -> Reasoner:
    """The RAER reasoner over ``agent``'s KB: the neural agents, or the LLM roles on a backend
    (``llm``: keyword arguments of ``llm.backend.load_backend``, e.g. model / base_url)."""
    config = config.for_backbone(backbone)
    if backbone == "neural":
        return NeuralRAER(pipeline=agent.pipeline, config=config)
    if backbone in ("llm", "openai"):
        from ..llm.backend import load_backend  # noqa: PLC0415 - heavy, only for LLM backbones
        from .llm import LLMRAER  # noqa: PLC0415

        backend = load_backend("openai" if backbone == "openai" else "hf", **(llm or {}))
        return LLMRAER.from_agent(agent, backend=backend, config=config)
    raise InputError(f"unknown RAER backbone {backbone!r}; known: {', '.join(BACKBONES)}")


def corpus_encoder(agent, dataset: str, split: str) -> Callable[[Sequence[Sample]], list[EncodedInput]]:
    """Encode samples of ``dataset`` like ``evaluate``: corpus-specific extraction, and when the split is part of the
    checkpoint's training data (hence of its KB), each sample's dialogue / speaker excluded from its evidence."""
    space = datasets.label_space(dataset)
    if space is None:
        raise InputError(f"{dataset} has no emotion label space; RAER runs on an emotion corpus")
    trained_on = {(c["name"], c["split"]) for c in agent.checkpoint.provenance.get("corpora", [])}
    seen = (dataset, split) in trained_on or (dataset, "all") in trained_on
    enc = replace(agent.encoding, extract=extract_config_for(dataset, agent.encoding.extract), exclude_related=seen)

    def encode(samples: Sequence[Sample]) -> list[EncodedInput]:
        return encode_inputs(list(samples), label_sets=[space.canonical] * len(samples), config=enc,
                             cache=agent.cache, progress=False)

    return encode


def check_kb_encoder(agent) -> None:
    """Refuse a KB whose recorded text encoder is not the checkpoint's (its similarities would be meaningless)."""
    from ..kb import KnowledgeBase  # noqa: PLC0415

    recorded = KnowledgeBase.peek(agent.kb_path).encoders.get("text")
    wanted = agent.checkpoint.encoders.get("text")
    if recorded and wanted and recorded != wanted:
        raise InputError(f"knowledge base {agent.kb_path} was built with the text encoder {recorded!r}, the "
                         f"checkpoint embeds with {wanted!r}; build the KB with the checkpoint's encoder")


def run_raer(agent, growth: GrowthConfig, *, out: str | Path, backbone: str = "neural",
             llm: dict[str, Any] | None = None, data_root: str | Path | None = None, resume: bool = True,
             progress: bool = True, log: Callable[[str], None] = print, engine: Any = None) -> GrowthResult:
    """RAER epochs of ``growth`` on ``agent`` (``engine``: see ``growth.run_growth``)."""
    if agent.kb_path is None or agent.pipeline.source is None:
        raise InputError("RAER needs the agents' evidence knowledge base (none is loaded)")
    check_kb_encoder(agent)
    reasoner = make_reasoner(agent, backbone=backbone, config=growth.raer, llm=llm)

    def score(samples: Sequence[Sample], preds: Sequence) -> dict[str, Any]:
        return score_predictions(samples, preds, dataset=growth.dataset)

    def baseline(inputs: Sequence[EncodedInput], samples: Sequence[Sample]) -> list:
        if backbone == "neural":
            return run_inference(agent.pipeline, list(inputs), progress=False)
        return reasoner.baseline(inputs, samples)  # type: ignore[attr-defined]

    return run_growth(growth, reasoner=reasoner, kb_src=agent.kb_path, norm=agent.checkpoint.norm,
                      encode=corpus_encoder(agent, growth.dataset, growth.split), score=score, out=Path(out),
                      data_root=data_root, baseline=baseline, resume=resume, progress=progress, log=log,
                      engine=engine)
