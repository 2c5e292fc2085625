"""Language-model agents: backends (local HF/GGUF, llama.cpp, OpenAI-compatible endpoints), prompts, parsing, the
three LLM roles and token-level LoRA MAPPO.

Import what you need from the submodules; this package imports nothing heavy. Entry point for backends:
``affectagent.llm.backend.load_backend(kind, model=..., base_url=..., api_key=...)``.
"""
