"""pydantic's validation errors as the user needs them: file, line, key, and the nearest valid key.

`root` is the model the document validates against (`LlmopsConfig` for `.llmops.yml`), walked to suggest the
valid sibling keys of an unknown one, so a typo never silently turns a gate off.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError

from llmops_action.core.yamlpos import Located, format_path
from llmops_action.errors import UserInputError


def _all_keys(model: type[BaseModel]) -> list[str]:
    keys = []
    for name, f in model.model_fields.items():
        keys.append(f.alias or name)
    return keys


def _model_at(root: type[BaseModel], path: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The pydantic model a key path points into, to suggest valid sibling keys."""
    import typing

    model: Any = root
    skip_key = False  # inside a dict-valued field the next part is the user's own key
    for part in path:
        if isinstance(part, int) or skip_key:
            skip_key = False
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        f = model.model_fields.get(part) or next(
            (fi for fi in model.model_fields.values() if fi.alias == part), None
        )
        if f is None:
            return None
        skip_key = typing.get_origin(f.annotation) is dict
        model = _unwrap(f.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    import typing

    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (list, tuple):
        return _unwrap(typing.get_args(tp)[0])
    if origin is dict:
        return _unwrap(typing.get_args(tp)[1])
    if origin is not None:  # Union / Optional: first model member
        for arg in typing.get_args(tp):
            inner = _unwrap(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
        return None
    return tp


_NO = object()


def _data_path(loc: tuple[Any, ...], data: Any, *, missing: bool) -> tuple[str | int, ...]:
    """pydantic's loc without the union-member tags it inserts ('TrackingConfig', 'bool', ...).

    A part is real when it indexes the data; only a missing key may be absent, and only last.
    """
    out: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        # pydantic names a non-string key by its str(); yamlpos records it the same way
        real = _NO
        if isinstance(node, dict):
            real = next((k for k in node if k == part or str(k) == str(part)), _NO)
        if real is not _NO:
            out.append(real if isinstance(real, str | int) else str(real))
            node = node[real]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif missing and i == len(loc) - 1 and isinstance(node, dict):
            out.append(part)
    return tuple(out)


_STRICT_TYPES = {"float_type": "a valid number", "int_type": "a valid integer", "bool_type": "true or false"}


def validation_error(exc: ValidationError, located: Located, root: type[BaseModel]) -> UserInputError:
    """Turn the first pydantic error into a UserInputError with file, line, key and a suggestion."""
    errors = exc.errors()
    # An unknown key is usually a typo of the key reported missing beside it: report the typo.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = _data_path(tuple(err["loc"]), located.data, missing=err["type"] == "missing")
    key = format_path(loc) or "(root)"
    hint = None
    if err["type"] == "extra_forbidden" and loc:
        parent = loc[:-1]
        model = _model_at(root, parent)
        if model is not None:
            close = difflib.get_close_matches(str(loc[-1]), _all_keys(model), n=1, cutoff=0.6)
            valid = ", ".join(_all_keys(model))
            hint = (f"did you mean '{close[0]}'? " if close else "") + f"Valid keys here: {valid}."
        message = f"unknown key '{loc[-1]}'"
    elif err["type"] == "invalid_key":
        message = f"key '{(loc or tuple(err['loc']))[-1]}' is not a string; quote it"
    elif err["type"] == "missing":
        message = f"missing required key '{(loc or tuple(err['loc']))[-1]}'"
    elif err["type"] in _STRICT_TYPES and isinstance(err.get("input"), str):
        message = f"expected {_STRICT_TYPES[err['type']]}, got the string {err['input']!r}"
        hint = "Remove the quotes."
    else:
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "literal_error" and isinstance(err.get("input"), str):
            options = (err.get("ctx") or {}).get("expected", "")
            choices = [o.strip(" '") for o in str(options).replace(" or ", ",").split(",")]
            close = difflib.get_close_matches(err["input"], choices, n=1, cutoff=0.6)
            if close:
                hint = f"did you mean '{close[0]}'?"
    return UserInputError(message, file=located.file, line=located.line_of(loc), key=key, hint=hint)
