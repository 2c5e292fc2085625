"""RAER: retrieval-augmented emotion reasoning with a knowledge base that grows (raer-sab.txt §3, Algorithm 1).

    reasoner = NeuralRAER(pipeline=agent.pipeline, retriever=agent.pipeline.source, config=RAERConfig())
    [outcome] = reasoner.reason([encoded_input])      # steps, ambiguity flags, evidence, uncertainty, gate
"""
from .config import RAERConfig
from .steps import RAEROutcome, ReasoningStep

__all__ = ["RAERConfig", "RAEROutcome", "ReasoningStep"]
