"""Message templates (campaign bodies, the inbox's quick replies): `{{name}}`, `{{phone}}` and
`{{<metadata key>}}` variables, each with an optional fallback after a bar (`{{name|there}}`).
Pure functions, no database; shared infrastructure so both apps follow the same rules.

A variable is *missing* for a contact when the contact has no value for it (a blank name, a
metadata key it lacks) and the variable has no fallback; campaigns refuse to start while any
recipient misses one, so nobody receives "Hi ," by accident."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

BUILTIN_VARIABLES = ("name", "phone")

# `{{ key }}` or `{{ key | fallback }}`; keys are identifiers (letters, digits, _ . -).
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][\w.-]*)\s*(?:\|([^{}]*))?\}\}")
_ANY_BRACES = re.compile(r"\{\{|\}\}")


class TemplateError(ValueError):
    """The body is malformed; the message is safe to show."""


@dataclass(frozen=True)
class Variable:
    key: str
    fallback: str | None

    @property
    def is_builtin(self) -> bool:
        return self.key in BUILTIN_VARIABLES


def variables_in(body: str) -> list[Variable]:
    """The variables of `body` in order of first appearance. Raises TemplateError on a `{{`
    or `}}` that is not part of a well-formed variable."""
    seen: dict[tuple[str, str | None], Variable] = {}
    leftover = _VARIABLE.sub("", body)
    stray = _ANY_BRACES.search(leftover)
    if stray:
        raise TemplateError(
            "The message has a malformed variable: write {{name}}, {{phone}} or {{a_metadata_key}}, "
            "optionally with a fallback: {{name|there}}."
        )
    for match in _VARIABLE.finditer(body):
        fallback = match.group(2)
        variable = Variable(match.group(1), fallback.strip() if fallback is not None else None)
        seen.setdefault((variable.key, variable.fallback), variable)
    return list(seen.values())


def value_for(variable: Variable, *, name: str, phone: str, metadata: Mapping[str, Any]) -> str | None:
    """The text that replaces `variable` for this contact, or None when it is missing."""
    if variable.key == "name":
        raw: Any = name or None
    elif variable.key == "phone":
        raw = phone or None
    else:
        raw = metadata.get(variable.key) if isinstance(metadata, Mapping) else None
        if raw is not None and not isinstance(raw, str | int | float):
            raw = None  # lists and objects have no sensible text form in a message
        if isinstance(raw, str) and not raw.strip():
            raw = None
    if raw is None:
        return variable.fallback
    return str(raw)


def render(body: str, *, name: str, phone: str, metadata: Mapping[str, Any]) -> str:
    """`body` with every variable replaced. Raises TemplateError naming a missing variable."""

    def replace(match: re.Match[str]) -> str:
        fallback = match.group(2)
        variable = Variable(match.group(1), fallback.strip() if fallback is not None else None)
        value = value_for(variable, name=name, phone=phone, metadata=metadata)
        if value is None:
            raise TemplateError(f"{{{{{variable.key}}}}} has no value for this contact.")
        return value

    return _VARIABLE.sub(replace, body)
