"""A job's body template: ``{name}`` placeholders, parsed once per job."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from ..errors import TemplateError

_FORMATTER = string.Formatter()


class Template:
    """A body with ``{name}`` placeholders, parsed once. ``{{`` and ``}}`` are literal braces.

    Only named substitution: ``str.format`` would also allow attribute and index access
    (``{name.__class__}`` renders Python internals into an SMS), conversions (``{name!r}``) and
    format specs, nested ones included (``{name:{width}}``, a CSV cell then sets a field width
    of millions). Each of those is a :class:`TemplateError` here, before any send, and
    rendering never goes through ``format``.
    """

    __slots__ = ("_parts", "fields", "source", "static")

    def __init__(self, source: str) -> None:
        if not isinstance(source, str):
            raise TemplateError(f"the body must be a string, not {type(source).__name__}")
        try:
            parsed = list(_FORMATTER.parse(source))
        except ValueError as exc:
            raise TemplateError(
                f"the body template is not valid ({exc}); write literal braces as {{{{ and }}}}"
            ) from None
        parts: list[tuple[str, str | None]] = []
        for literal, field, spec, conversion in parsed:
            if field is not None:
                _check_placeholder(field, spec, conversion)
            parts.append((literal, field))
        self.source = source
        self._parts = tuple(parts)
        self.fields = frozenset(field for _literal, field in parts if field is not None)
        # A body without placeholders is rendered once ("{{" still becomes "{").
        self.static: str | None = (
            None if self.fields else "".join(literal for literal, _field in parts)
        )

    def render(self, variables: Mapping[str, Any]) -> str:
        """The body for one recipient; a missing variable raises KeyError naming it."""
        if self.static is not None:
            return self.static
        return "".join(
            literal if field is None else literal + str(variables[field])
            for literal, field in self._parts
        )


def _check_placeholder(field: str, spec: str | None, conversion: str | None) -> None:
    shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
    shown += "}"
    if not field or field.isdigit():
        raise TemplateError(
            "the body template has a positional placeholder ({} or {0}); name it, "
            "e.g. {name}, and give each recipient that variable"
        )
    if any(char in field for char in ".[]"):
        raise TemplateError(
            f"the body template placeholder {shown[:60]} uses attribute or index access; "
            "only plain {name} placeholders are substituted: put the value itself in the "
            "recipient's variables"
        )
    if conversion:
        raise TemplateError(
            f"the body template placeholder {shown[:60]} has a conversion (!{conversion}); "
            "only plain {name} placeholders are substituted"
        )
    if spec:
        raise TemplateError(
            f"the body template placeholder {shown[:60]} has a format spec; only plain {{name}}"
            " placeholders are substituted: format the value before you pass it"
        )
