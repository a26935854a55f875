"""cattrs structuring of server JSON into attrs models.

Models name their JSON key with ``field(metadata={"json": "camelCase"})`` when it differs, and
carry a ``raw`` field that receives the whole object. Unknown keys are ignored; a known key of an
unexpected type is left as-is rather than breaking the parse (the raw data always survives).
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeGuard, TypeVar

import attrs
import cattrs

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=False)


def parse_datetime(value: Any) -> datetime | None:
    """ISO-8601 (with ``Z`` or an offset) or ``YYYY-MM-DD HH:MM:SS ±HHMM``; None if unparseable."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    # strptime's %Z yields a naive datetime (and accepts the machine's local zone names too),
    # so only the unambiguous UTC/GMT suffixes are read, as aware UTC.
    if text.endswith((" UTC", " GMT")):
        try:
            return datetime.strptime(text[:-4], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            return None
    return None


converter.register_structure_hook(datetime, lambda value, _: parse_datetime(value))

_TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y", "on"})
_FALSE_WORDS = frozenset({"false", "f", "0", "no", "n", "off"})


def parse_bool(value: Any) -> bool:
    """JSON booleans, 0/1, and the Rails words (``"true"``, ``"off"``...); else ValueError.

    cattrs' default is ``bool(value)``, which turns the string ``"false"`` into True.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise ValueError(f"not a boolean: {value!r}")


converter.register_structure_hook(bool, lambda value, _: parse_bool(value))


def _parse_str(value: Any) -> str:
    """Strings and numbers only: cattrs' default ``str(value)`` turns an object into its repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"not a string: {type(value).__name__}")


converter.register_structure_hook(str, lambda value, _: _parse_str(value))


_SEQUENCE_ORIGINS = (tuple, list, set, frozenset)


@functools.cache
def _is_sequence_type(type_: Any) -> bool:
    return typing.get_origin(type_) in _SEQUENCE_ORIGINS


def _structure_field(value: Any, type_: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and _is_sequence_type(type_):
        return value  # a string where a list is expected: keep it, not its characters
    try:
        return converter.structure(value, type_)
    except (cattrs.BaseValidationError, TypeError, ValueError, AttributeError):
        return value


# Values of these exact types pass through their hooks unchanged, so from_json skips the hook
# (a measurable share of a send's CPU: a TextUs Message has about twenty such fields). A field
# typed ``Any`` keeps any value (cattrs' Any hook is the identity); ``object`` marks it.
_PASS_THROUGH = (str, int, float, bool)
_NONE_TYPE = type(None)
_KEEP_ANY: type[Any] = object

_Plan = tuple[list[tuple[str, str, Any, type[Any] | None]], bool]
_plans: dict[type[Any], _Plan] = {}


def _pass_through_type(type_: Any) -> type[Any] | None:
    """``str`` for ``str`` or ``str | None`` (likewise int, float, bool); ``object`` for
    ``Any``; else None."""
    if type_ is Any:
        return _KEEP_ANY
    if type_ in _PASS_THROUGH:
        return type_  # type: ignore[no-any-return]
    args = typing.get_args(type_)
    if len(args) == 2 and _NONE_TYPE in args:
        other = args[0] if args[1] is _NONE_TYPE else args[1]
        if other in _PASS_THROUGH:
            return other  # type: ignore[no-any-return]
    return None


def _plan(cls: type[Any]) -> _Plan:
    plan = _plans.get(cls)
    if plan is None:
        attrs.resolve_types(cls)
        fields = [
            (f.name, f.metadata.get("json", f.name), f.type, _pass_through_type(f.type))
            for f in attrs.fields(cls)
            if f.name != "raw" and f.init
        ]
        plan = _plans[cls] = (fields, "raw" in attrs.fields_dict(cls))
    return plan


def is_object(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)``, quick for the dicts ``json.loads`` makes (an ABC check
    costs several times a type check, and a send makes a handful)."""
    return type(value) is dict or isinstance(value, Mapping)


_ABSENT: Any = object()


def from_json(cls: type[T], data: Mapping[str, Any] | None, **extra: Any) -> T:
    """Build ``cls`` from a JSON object; ``raw`` keeps the whole object."""
    if not is_object(data):
        data = {}
    kwargs: dict[str, Any] = {}
    fields, has_raw = _plans.get(cls) or _plan(cls)
    for name, key, type_, pass_through in fields:
        value = data.get(key, _ABSENT)
        if value is not _ABSENT:
            if value is None or pass_through is _KEEP_ANY or type(value) is pass_through:
                kwargs[name] = value
            else:
                kwargs[name] = _structure_field(value, type_)
    kwargs.update(extra)
    if has_raw:
        kwargs["raw"] = data
    return cls(**kwargs)


def from_json_list(cls: type[T], items: Any) -> list[T]:
    if not isinstance(items, list):
        return []
    return [from_json(cls, item) for item in items if isinstance(item, Mapping)]


def structure_hook(cls: type[T]) -> Callable[[Any, Any], T]:
    """Register ``cls`` with the shared converter so nested models go through ``from_json``."""

    def hook(value: Any, _: Any) -> T:
        if not isinstance(value, Mapping):  # e.g. an IRI where an object was expected: keep it
            raise TypeError(f"expected a JSON object for {cls.__name__}")
        return from_json(cls, value)

    converter.register_structure_hook(cls, hook)
    return hook
