"""Validation of CityJSON 2.0 documents and CityJSONFeatures against the official schemas,
offline (split off :mod:`gdi.city3d.cityjson`, which re-exports :func:`validate_schema`).

The schema files are loaded once per folder into a ``referencing`` registry. A CityObject of a
core type is checked against its own branch of the CityObjects ``oneOf`` only (same verdict,
without validating its geometry against every branch); errors name their JSON paths and, within
a ``oneOf``, the deepest error of the branch whose ``type`` matched.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, NamedTuple

import jsonschema
import referencing
import referencing.exceptions

from gdi.errors import SchemaLoadError, SchemaValidationError

_SCHEMA_FILES = {"CityJSON": "cityjson.schema.json",
                 "CityJSONFeature": "cityjsonfeature.schema.json"}


class _Validators(NamedTuple):
    document: Any                # the official schema of ``kind``
    objects: dict[str, Any]      # per core CityObject type: its branch of the ``oneOf``
    any_object: Any              # the whole ``oneOf`` (Extension and unknown types)


@functools.cache
def _validators(schemas_dir: Path, kind: str) -> _Validators:
    resources = []
    try:
        for file in sorted(schemas_dir.glob("*.schema.json")):
            contents = json.loads(file.read_text(encoding="utf-8"))
            resources.append((contents["$id"], referencing.Resource.from_contents(contents)))
        root = json.loads((schemas_dir / _SCHEMA_FILES[kind]).read_text(encoding="utf-8"))
        branches = root["properties"]["CityObjects"]["additionalProperties"]["oneOf"]
    except (OSError, ValueError, KeyError) as e:
        raise SchemaLoadError(f"CityJSON schemas in {schemas_dir} cannot be loaded: {e}") from e
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(resources)
    cls = jsonschema.validators.validator_for(root)
    base = root["$id"].rsplit("/", 1)[0] + "/"

    def make(schema: dict[str, Any]) -> Any:
        return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)

    objects = {ref.rsplit("/", 1)[1]: make({"$ref": base + ref})
               for ref in (b["$ref"] for b in branches) if not ref.endswith("/ExtensionObject")}
    whole = make({"$ref": f"{root['$id']}#/properties/CityObjects/additionalProperties"})
    return _Validators(make(root), objects, whole)


def _errors(doc: dict[str, Any], vs: _Validators) -> Iterator[tuple[str, Any]]:
    """Schema errors with their JSON paths. Every core branch of the CityObjects ``oneOf``
    requires its own ``type``, so an object of a core type is checked against that branch
    only: the same verdict as the ``oneOf``, without validating its geometry 34 times."""
    objects = doc.get("CityObjects")
    objects = objects if isinstance(objects, dict) else {}
    skeleton = {**doc, "CityObjects": {}} if objects else doc
    yield from (("$", e) for e in vs.document.iter_errors(skeleton))
    for key, obj in objects.items():
        kind = obj.get("type") if isinstance(obj, dict) else None
        validator = vs.objects.get(kind if isinstance(kind, str) else "", vs.any_object)
        for e in validator.iter_errors(obj):
            yield f"$.CityObjects[{json.dumps(key)}]", e


def _explain(err: Any) -> Any:
    """Within a ``oneOf`` of typed alternatives, the deepest error of the one whose ``type``
    matched (that is the error a person wants to read), else ``err`` itself."""
    while err.context:
        branches: dict[Any, list[Any]] = {}
        for e in err.context:
            branches.setdefault(e.relative_schema_path[0], []).append(e)
        typed = [es for es in branches.values() if ["type"] not in (list(e.path) for e in es)]
        if len(typed) != 1:
            return err
        err = max(typed[0], key=lambda e: len(e.absolute_path))
    return err


def validate_schema(doc: dict[str, Any], schemas_dir: Path, *,
                    kind: Literal["CityJSON", "CityJSONFeature"] = "CityJSON") -> None:
    """Validates ``doc`` against the official CityJSON 2.0 schemas in ``schemas_dir`` (offline).

    Raises SchemaValidationError naming the first few errors with their JSON paths.
    """
    validators = _validators(Path(schemas_dir).resolve(), kind)
    try:
        errors = list(itertools.islice(_errors(doc, validators), 5))
    except referencing.exceptions.Unresolvable as e:
        raise SchemaLoadError(f"CityJSON schema reference not found offline: {e}") from e
    if errors:
        lines = []
        for prefix, err in errors:
            best = _explain(err)
            lines.append(f"{prefix}{best.json_path[1:]}: {best.message[:200]}")
        raise SchemaValidationError(f"{kind} does not validate against the CityJSON 2.0 "
                                    "schema:\n" + "\n".join(lines))
