"""Command-line options generated from a config dataclass, and the config built back from the parsed options.

One default in one place: every option's type comes from the field's annotation, its default from the field, its help
from the class docstring, where each documented field has one ``name: text`` entry at the start of a line (several
fields may share one: ``lr / critic_lr: AdamW rates``; indented lines continue the entry). Options are named after
the fields (``batch_size`` -> ``--batch-size``, renames via ``flags``); booleans get a positive name and its negation
(``--tensorboard/--no-tensorboard``); ``Literal`` types become choices, ``tuple[T, ...]`` one or more values,
``X | None`` an optional X (default None). Nested config dataclasses listed in ``nested`` are flattened (their fields
become options of their own, ``--lora-rank`` for ``model.lora_rank``). Fields of other types must be excluded (and are
then left at their default or given explicitly to ``build``). A ``ValueError`` from the config's ``__post_init__``
becomes an ``InputError`` (one-line message, exit code 2).

    spec = ConfigArgs(FerTrainConfig)
    spec.add_to(parser)
    config = spec.build(parser.parse_args())
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal, Mapping, Sequence

from ..errors import InputError

_ENTRY = re.compile(r"^(?P<names>[A-Za-z_]\w*(?:\s*/\s*[A-Za-z_]\w*)*)\s*:\s+(?P<text>\S.*)$")
_SCALARS = (bool, int, float, str, Path)


def field_docs(cls: type) -> dict[str, str]:
    """``{field name: help text}`` from the ``name: text`` entries of ``cls``'s docstring (only names of fields)."""
    names = {f.name for f in dataclasses.fields(cls)}
    docs: dict[str, str] = {}
    current: list[str] | None = None
    for line in inspect.cleandoc(cls.__doc__ or "").splitlines():
        m = _ENTRY.match(line)
        keys = [k.strip() for k in m.group("names").split("/")] if m else []
        if m and all(k in names for k in keys):
            current = keys
            for k in keys:
                docs.setdefault(k, m.group("text").strip())
        elif current is not None and line[:1].isspace() and line.strip():
            for k in current:
                docs[k] += " " + line.strip()
        else:
            current = None
    return {k: v.replace("``", "`") for k, v in docs.items()}


@dataclass(frozen=True)
class _Option:
    path: str  # dotted field path from the top config, e.g. "model.lora_rank"
    dest: str
    flags: tuple[str, ...]
    kwargs: dict


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return tp, False


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _argparse_kwargs(tp: Any, default: Any, name: str, owner: type) -> dict:
    inner, optional = _unwrap_optional(tp)
    origin = typing.get_origin(inner)
    if inner is bool and not optional:
        return {"action": argparse.BooleanOptionalAction, "default": default}
    if origin is Literal:
        choices = typing.get_args(inner)
        return {"type": type(choices[0]), "choices": choices, "default": default}
    if origin is tuple:
        items = typing.get_args(inner)
        if len(items) == 2 and items[1] is Ellipsis and items[0] in _SCALARS and items[0] is not bool:
            return {"type": items[0], "nargs": "+", "default": default}
    if inner in _SCALARS and inner is not bool:
        return {"type": inner, "default": default}
    raise TypeError(f"{owner.__name__}.{name}: no command-line form for type {tp!r}; exclude the field "
                    "(and set it in code) or list it in nested=")


def _fmt_default(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return str(value)


@dataclass(frozen=True)
class ConfigArgs:
    """How one config dataclass maps onto command-line options.

    cls: the config dataclass. exclude: field paths (dotted for nested fields) that get no option. nested: fields
    holding config dataclasses whose own fields become options. flags: option strings for a field path instead of
    the default ``--field-name`` (the first is shown in help). dest_prefix: prefix of the argparse destinations (two
    configs in one parser)."""

    cls: type
    exclude: frozenset[str] | Sequence[str] = frozenset()
    nested: frozenset[str] | Sequence[str] = frozenset()
    flags: Mapping[str, Sequence[str]] = field(default_factory=dict)
    dest_prefix: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "exclude", frozenset(self.exclude))
        object.__setattr__(self, "nested", frozenset(self.nested))

    def _options(self, cls: type, prefix: str = "") -> Iterator[_Option]:
        hints = typing.get_type_hints(cls)
        docs = field_docs(cls)
        for f in dataclasses.fields(cls):
            path = prefix + f.name
            if path in self.exclude or not f.init:
                continue
            if path in self.nested:
                sub = hints[f.name]
                if not dataclasses.is_dataclass(sub):
                    raise TypeError(f"{cls.__name__}.{f.name} is not a dataclass; it cannot be nested")
                yield from self._options(sub, prefix=path + ".")
                continue
            default = _field_default(f)
            if default is dataclasses.MISSING:
                raise TypeError(f"{cls.__name__}.{f.name} has no default; exclude it and pass it to build()")
            kwargs = _argparse_kwargs(hints[f.name], default, f.name, cls)
            help_text = docs.get(f.name, "").replace("%", "%%")
            if default is not None:
                help_text = help_text.removesuffix(".")
                help_text = f"{help_text} (default: {_fmt_default(default).replace('%', '%%')})".strip()
            kwargs["help"] = help_text
            if kwargs.get("action") is None and "choices" not in kwargs:
                kwargs["metavar"] = f.name.upper()
            flags = tuple(self.flags.get(path, ("--" + f.name.replace("_", "-"),)))
            yield _Option(path=path, dest=self.dest_prefix + path, flags=flags, kwargs=kwargs)

    def add_to(self, parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        """Add one option per (flattened) field."""
        for opt in self._options(self.cls):
            parser.add_argument(*opt.flags, dest=opt.dest, **opt.kwargs)

    def option_strings(self) -> dict[str, tuple[str, ...]]:
        """``{field path: option strings}`` of the generated options."""
        return {opt.path: opt.flags for opt in self._options(self.cls)}

    def build(self, args: argparse.Namespace, **fixed: Any) -> Any:
        """The config from parsed ``args``; ``fixed`` gives (top-level) fields explicitly (e.g. excluded ones).
        An invalid value (``ValueError`` in ``__post_init__``) raises ``InputError``."""
        try:
            return self._build(self.cls, args, "", fixed)
        except ValueError as exc:
            raise InputError(str(exc)) from None

    def _build(self, cls: type, args: argparse.Namespace, prefix: str, fixed: Mapping[str, Any]) -> Any:
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            path = prefix + f.name
            if not prefix and f.name in fixed:
                values[f.name] = fixed[f.name]
            elif path in self.exclude or not f.init:
                continue
            elif path in self.nested:
                values[f.name] = self._build(hints[f.name], args, path + ".", {})
            else:
                value = getattr(args, self.dest_prefix + path)
                if isinstance(value, list):
                    value = tuple(value)
                values[f.name] = value
        unknown = set(fixed) - {f.name for f in dataclasses.fields(cls)} if not prefix else set()
        if unknown:
            raise TypeError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
        return cls(**values)


__all__ = ["ConfigArgs", "field_docs"]
