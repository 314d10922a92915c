"""The one translator from pydantic's validation errors to sentences about environment
variables: each names the variable, says what is allowed and, unless the variable is a
secret, shows the value it got."""

from __future__ import annotations

import annotated_types
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import ErrorDetails


class SettingsError(Exception):
    """The environment holds a value the service cannot start with.

    ``problems`` holds one line per bad variable, each naming the variable.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "the service cannot start; fix these environment variables:\n  "
            + "\n  ".join(problems)
        )


def format_settings_errors(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One line per problem: the variable, what is allowed, and (unless secret) the value.
    ``model`` is the settings class that raised, whose fields hold the bounds."""
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        line = _describe(error, model)
        if line not in lines:
            lines.append(line)
    return lines


def _describe(error: ErrorDetails, model: type[BaseModel]) -> str:
    loc = error["loc"]
    if not loc:  # a check across variables: its message names them itself
        return error["msg"].removeprefix("Value error, ")
    field = str(loc[0])
    name = field.upper()
    rule = _rule(field, error, model)
    if _is_secret(field, model):
        return f"{name} {rule}"
    got = error.get("input")
    if not isinstance(got, str | int | float | bool):
        return f"{name} {rule}"
    shown = str(got)
    if not shown or any(ch.isspace() for ch in shown):
        shown = repr(shown)
    return f"{name} {rule} (got {shown})"


def _rule(field: str, error: ErrorDetails, model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _bounds(field, model)
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "must be a whole number"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false (also accepted: 1/0, yes/no, on/off)"
    if kind == "literal_error":
        return f"must be one of {error.get('ctx', {}).get('expected', '')}"
    if kind == "value_error":
        return error["msg"].removeprefix("Value error, ")
    return error["msg"].lower()


def _bounds(field: str, model: type[BaseModel]) -> str:
    low: tuple[str, float] | None = None
    high: tuple[str, float] | None = None
    for item in _constraints(field, model):
        if isinstance(item, annotated_types.Ge):
            low = ("ge", item.ge)  # type: ignore[assignment]
        elif isinstance(item, annotated_types.Gt):
            low = ("gt", item.gt)  # type: ignore[assignment]
        elif isinstance(item, annotated_types.Le):
            high = ("le", item.le)  # type: ignore[assignment]
        elif isinstance(item, annotated_types.Lt):
            high = ("lt", item.lt)  # type: ignore[assignment]
    if low and high and low[0] == "ge" and high[0] == "le":
        return f"must be between {low[1]:g} and {high[1]:g}"
    parts = []
    if low:
        parts.append(f"at least {low[1]:g}" if low[0] == "ge" else f"greater than {low[1]:g}")
    if high:
        parts.append(f"at most {high[1]:g}" if high[0] == "le" else f"less than {high[1]:g}")
    return "must be " + " and ".join(parts)


def _constraints(field: str, model: type[BaseModel]) -> list[object]:
    info = model.model_fields[field]
    found = list(info.metadata)
    for arg in getattr(info.annotation, "__args__", ()):  # Annotated[..., Field(...)] | None
        for meta in getattr(arg, "__metadata__", ()):
            found.extend(getattr(meta, "metadata", [meta]))
    return found


def _is_secret(field: str, model: type[BaseModel]) -> bool:
    annotation = model.model_fields[field].annotation
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())
