"""YAML loading with ``${VAR}`` substitution and readable validation errors.

Used for dataset descriptors and for ``config/pygeoapi.yml``. A placeholder that has no value
is an error naming the file and the key, never an empty string.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from gdi.errors import DescriptorError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute(value: Any, variables: Mapping[str, str], *, where: str, key: str = "") -> Any:
    """Replace ``${VAR}`` in every string of a parsed YAML document."""
    if isinstance(value, str):

        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                raise DescriptorError(
                    f"{where}: key '{key or '/'}': unknown variable ${{{name}}}",
                    hint=f"set {name} in the environment or remove the placeholder",
                )
            return variables[name]

        return _VAR.sub(repl, value)
    if isinstance(value, dict):
        return {
            k: substitute(v, variables, where=where, key=f"{key}.{k}" if key else str(k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            substitute(v, variables, where=where, key=f"{key}[{i}]") for i, v in enumerate(value)
        ]
    return value


def read_yaml(path: Path, variables: Mapping[str, str]) -> dict[str, Any]:
    """Read a YAML mapping and substitute variables; errors name the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DescriptorError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DescriptorError(f"{path}: cannot be read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DescriptorError(f"{path}{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise DescriptorError(f"{path}: expected a mapping at the top level")
    result: dict[str, Any] = substitute(data, variables, where=str(path))
    return result


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names of the (nested) model at ``loc``, for 'did you mean' hints."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            return []
        annotation = fields[part].annotation
        args = [a for a in getattr(annotation, "__args__", ()) if hasattr(a, "model_fields")]
        current = args[-1] if args else annotation
    return list(getattr(current, "model_fields", {}))


def validate[M: BaseModel](model: type[M], data: dict[str, Any], *, where: str) -> M:
    """Validate ``data`` against ``model``; raise one DescriptorError listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "/"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                name = str(err["loc"][-1])
                close = difflib.get_close_matches(name, _allowed_keys(model, err["loc"]), n=1)
                msg = "unknown key" + (f" (did you mean '{close[0]}'?)" if close else "")
            lines.append(f"  key '{key}': {msg}")
        raise DescriptorError(
            f"{where}: invalid descriptor:\n" + "\n".join(lines),
            hint="fix the keys named above; docs/descriptors.md lists every key",
        ) from None
