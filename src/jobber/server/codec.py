"""Canonical JSON and message bodies: how a core message becomes JSON-safe data and back.

A message (one of the frozen dataclasses of ``jobber.trust.messages``) travels as
``{"type": "<ClassName>", "body": {...}}``; ``jobber.server.wire`` puts that in a signed envelope.

Invariants: ``canonical_json`` is the one byte form anything is signed in (sorted keys, no
whitespace, UTF-8, finite numbers only, bounded nesting), and ``load_json`` reads only strict,
finite JSON. Bodies are validated by pydantic models built once per dataclass from its type hints
(unknown keys, missing keys, wrong or non-finite types refused), and one function turns a
validated model back into the core dataclass. ``encode_message`` validates what it encodes, so a
server never sends what a peer would refuse. Every refusal is a ``WireError`` carrying the HTTP
status to answer with (always 400 here) and a reason that echoes input only in bounded form.

Canonical JSON is orjson's output (``orjson`` is in the server extra); the ``json`` fallback is
byte-identical except for floats below 1e-4 in magnitude (``1e-05`` vs ``0.00001``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Callable
from enum import Enum, IntEnum
from functools import cache
from typing import Annotated, Any, Literal, NewType

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, ValidationError
from pydantic import create_model as _create_model

from jobber.errors import ProtocolError
from jobber.trust import messages as _messages
from jobber.trust.evidence import Opinion
from jobber.trust.messages import Message, Ticket

try:
    import orjson
except ImportError:  # pragma: no cover - the server extra installs it
    orjson = None  # type: ignore[assignment]

__all__ = [
    "MAX_ID", "WireError", "canonical_json", "decode_message", "decode_ticket", "encode_message",
    "encode_ticket", "load_json", "show",
]

MAX_ID = 128  # tenant, connection and interaction ids
MAX_TEXT = 1024  # free text: reasons
MAX_ITEMS = 16  # paths and chains
MAX_INT = 2**31 - 1
MAX_DEPTH = 32  # JSON nesting canonical_json accepts (messages nest 4 deep)


class WireError(ProtocolError):
    """An envelope or message refused at the edge: ``status`` is the HTTP 4xx to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason} (HTTP {self.status})"


def show(value: object) -> str:
    """A bounded, escaped rendering of untrusted input for an error message."""
    text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


# --- canonical JSON ---------------------------------------------------------------------------


def _check_json(obj: object, depth: int) -> None:
    kind = type(obj)
    if kind is str or kind is bool or obj is None:
        return
    if kind is float:
        if not math.isfinite(obj):  # type: ignore[arg-type]
            raise WireError(400, "non-finite number")
    elif kind is int:
        if not -(2**63) <= obj < 2**64:  # type: ignore[operator]
            raise WireError(400, "integer out of range")
    elif depth >= MAX_DEPTH:
        raise WireError(400, "JSON nested too deeply")
    elif kind is dict:
        for key, value in obj.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                raise WireError(400, f"non-string JSON key {show(key)}")
            _check_json(value, depth + 1)
    elif kind is list or kind is tuple:
        for value in obj:  # type: ignore[attr-defined]
            _check_json(value, depth + 1)
    else:
        raise WireError(400, f"not a JSON value: {kind.__name__}")


def canonical_json(obj: object) -> bytes:
    """Sorted keys, no whitespace, UTF-8; refuses NaN, ±Infinity and non-JSON types."""
    _check_json(obj, 0)
    try:
        if orjson is not None:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError) as exc:  # lone surrogates; orjson's errors are TypeErrors
        raise WireError(400, "not encodable as UTF-8 JSON") from exc


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def load_json(raw: bytes) -> object:
    """The JSON value in ``raw``; ``WireError`` (400) if it is not strict, finite JSON."""
    try:
        if orjson is not None:
            return orjson.loads(raw)  # refuses NaN, Infinity, 1e999 and lone surrogates
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant,
                          parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        raise WireError(400, "malformed JSON") from exc


# --- the codec: core dataclasses <-> JSON-safe dicts, validated by pydantic -------------------


_Id = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_ID)]
_Text = Annotated[str, StringConstraints(strict=True, max_length=MAX_TEXT)]
_Float = Annotated[float, Field(strict=True, allow_inf_nan=False)]
_Int = Annotated[int, Field(strict=True, ge=0, le=MAX_INT)]
_UNIT = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-1e-9, le=1 + 1e-9)]
_HOP = Annotated[int, Field(strict=True, ge=0, le=MAX_ITEMS)]

_OVERRIDES: dict[tuple[type, str], Any] = {
    # tighter than the generic bound where the field's meaning allows (rounding slack on opinions)
    (Opinion, "b"): _UNIT, (Opinion, "d"): _UNIT, (Opinion, "u"): _UNIT,
    (_messages.IntroRequest, "hop"): _HOP, (_messages.Feedback, "hop"): _HOP,
}
_CONFIG = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


def _same(value: Any) -> Any:
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class _Codec:
    """How one type hint travels: its pydantic annotation and the conversions either way."""

    annotation: Any
    to_core: Callable[[Any], Any] = _same
    to_wire: Callable[[Any], Any] = _same


def _codec(hint: Any) -> _Codec:
    if isinstance(hint, NewType):
        if hint.__supertype__ is not str:
            raise TypeError(f"no wire form for {hint!r}")
        return _Codec(_Id)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _codec(args[0])
        bounded = Annotated[list[item.annotation], Field(max_length=MAX_ITEMS)]  # type: ignore[name-defined]
        return _Codec(bounded, lambda v: tuple(item.to_core(x) for x in v),
                      lambda v: [item.to_wire(x) for x in v])
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = _codec(next(a for a in args if a is not type(None)))
        return _Codec(inner.annotation | None,
                      lambda v: None if v is None else inner.to_core(v),
                      lambda v: None if v is None else inner.to_wire(v))
    if hint is str:
        return _Codec(_Text)
    if hint is bool:
        return _Codec(StrictBool)
    if hint is int:
        return _Codec(_Int)
    if hint is float:
        return _Codec(_Float)
    if isinstance(hint, type) and issubclass(hint, IntEnum):  # Severity, Status: by name
        enum: type[Enum] = hint
        return _Codec(Literal[tuple(m.name for m in enum)], enum.__getitem__,
                      lambda v: enum(v).name)
    if isinstance(hint, type) and issubclass(hint, Enum):  # Mode: by value
        plain: type[Enum] = hint
        return _Codec(Literal[tuple(m.value for m in plain)], plain, lambda v: plain(v).value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        model, _ = _schema(hint)
        nested = hint
        return _Codec(model, lambda m: _to_core(nested, m), lambda v: _to_wire(nested, v))
    raise TypeError(f"no wire form for {hint!r}")


_Schema = tuple[type[BaseModel], tuple[tuple[str, _Codec], ...]]
_SCHEMAS: dict[type, _Schema] = {}


def _schema(cls: type) -> _Schema:
    """The pydantic model of one dataclass and the codec of each of its fields (built once)."""
    known = _SCHEMAS.get(cls)
    if known is not None:
        return known
    hints = typing.get_type_hints(cls)
    fields: list[tuple[str, _Codec]] = []
    definitions: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        codec = _codec(hints[field.name])
        override = _OVERRIDES.get((cls, field.name))
        if override is not None:
            codec = _Codec(override, codec.to_core, codec.to_wire)
        fields.append((field.name, codec))
        definitions[field.name] = (codec.annotation, ...)
    model = _create_model(f"{cls.__name__}Wire", __config__=_CONFIG, **definitions)
    schema = _SCHEMAS[cls] = (model, tuple(fields))
    return schema


def _to_core(cls: type, model: BaseModel) -> Any:
    """The one conversion from a validated edge model to the core's frozen dataclass."""
    _, fields = _schema(cls)
    return cls(**{name: codec.to_core(getattr(model, name)) for name, codec in fields})


def _to_wire(cls: type, value: Any) -> dict[str, Any]:
    if type(value) is not cls:
        raise TypeError(f"expected {cls.__name__}, got {type(value).__name__}")
    _, fields = _schema(cls)
    return {name: codec.to_wire(getattr(value, name)) for name, codec in fields}


def _validate(cls: type, body: object) -> BaseModel:
    model, _ = _schema(cls)
    if type(body) is not dict:
        raise WireError(400, f"{cls.__name__} body is not a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise WireError(400, f"invalid {cls.__name__}: {where}: {first['msg']}{more}") from exc


@cache
def _message_types() -> dict[str, type[Message]]:
    found = {name: obj for name, obj in vars(_messages).items()
             if isinstance(obj, type) and issubclass(obj, Message) and obj is not Message}
    for cls in found.values():
        _schema(cls)  # fail at start-up, not on the first message, if a type has no wire form
    return found


def encode_message(msg: Message) -> dict[str, Any]:
    """``{"type": "<ClassName>", "body": {...}}``, JSON-safe and valid for ``decode_message``."""
    cls = type(msg)
    if _message_types().get(cls.__name__) is not cls:
        raise WireError(400, f"{cls.__name__} is not a protocol message")
    try:
        body = _to_wire(cls, msg)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise WireError(400, f"cannot encode {cls.__name__}: {exc}") from exc
    _validate(cls, body)
    return {"type": cls.__name__, "body": body}


def decode_message(type_name: str, body: object) -> Message:
    """The core message a ``(type, body)`` pair stands for; ``WireError`` (400) if none."""
    cls = _message_types().get(type_name) if type(type_name) is str else None
    if cls is None:
        raise WireError(400, f"unknown message type {show(type_name)}")
    model = _validate(cls, body)
    try:
        message: Message = _to_core(cls, model)
    except (TypeError, ValueError) as exc:  # a dataclass's own checks, if it grows some
        raise WireError(400, f"invalid {cls.__name__}: {exc}") from exc
    return message


def encode_ticket(ticket: Ticket) -> dict[str, Any]:
    """A ticket as JSON-safe data (what ``sign_ticket`` signs)."""
    return _to_wire(Ticket, ticket)


def decode_ticket(body: object) -> Ticket:
    """A ticket from JSON data, validated like any message body."""
    ticket: Ticket = _to_core(Ticket, _validate(Ticket, body))
    return ticket
