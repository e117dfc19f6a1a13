"""Check a descriptor's INSPIRE mapping against the feature type, and compile it to a plan.

The check fails the build unless every property of the type is mapped, voided with a
nilReason (only where the schema allows nil) or omitted with a reason (only where it is
optional). Constant code list values are checked against the INSPIRE registry lists in
``shared/inspire-codelists`` (where a list is missing there, the value is reported unchecked).
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gdi.descriptor import Descriptor, PropertyMap
from gdi.errors import DescriptorError, PublicationError
from gdi.inspire.codelists import INSPIRE_BASE, CodeLists
from gdi.inspire.model import FeatureType, Prop, feature_type, walk

VOID_BASE = INSPIRE_BASE + "VoidReasonValue/"


@dataclass(frozen=True)
class Step:
    path: str
    prop: Prop
    mapping: PropertyMap | None  # None: expand the object's children
    children: tuple[Step, ...]
    fn: Callable[..., Any] | None = None
    required: bool = False  # the property must have a value (mandatory, not nillable)


# several values of one leaf, as the GML encoder receives them (one element each)
MULTI_SEP = "\x1f"


@dataclass(frozen=True)
class Plan:
    feature: FeatureType
    steps: tuple[Step, ...]
    unchecked_codelists: tuple[str, ...]
    codelists: dict[str, frozenset[str] | None]
    lists: CodeLists
    # properties mapped from a multi-valued field (descriptor 'multi: true') that the schema
    # allows several times (maxOccurs > 1): each value becomes one element
    multi: frozenset[str] = frozenset()


def load_function(ref: str, where: str) -> Callable[..., Any]:
    module, _, name = ref.partition(":")
    if not module.startswith("transforms.") or not name:
        raise DescriptorError(f"{where}: compute must name 'transforms.<module>:<function>'")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise DescriptorError(f"{where}: function '{ref}' not found") from None
    return fn


def compile_plans(desc: Descriptor, schemas: Path, lists: CodeLists
                  ) -> tuple[Plan, Plan | None]:
    """The members' plan and, where the theme has one, the data set feature's plan."""
    spec = desc.inspire
    if spec is None:
        raise DescriptorError(f"{desc.path}: no 'inspire' block")
    where = f"{desc.path}: inspire.mapping"
    members = _compile(feature_type(schemas, spec.application_schema, spec.feature_type),
                       spec.mapping, where, lists)
    dataset = None
    if spec.dataset is not None:
        ft = feature_type(schemas, spec.application_schema, spec.dataset.feature_type)
        dataset = _compile(ft, spec.dataset.mapping, f"{desc.path}: inspire.dataset.mapping",
                           lists)
    elif any(m.dataset_ref for m in spec.mapping.values()):
        raise DescriptorError(f"{where}: dataset_ref needs an 'inspire.dataset' block")
    multi = set()
    for step in _leaves(members.steps):
        m = step.mapping
        if m is None or m.field is None or m.field not in desc.fields \
                or not desc.fields[m.field].multi:
            continue
        if step.prop.max is not None and step.prop.max <= 1:
            raise DescriptorError(
                f"{where}.{step.path}: '{m.field}' holds several values, but the schema allows "
                f"one {step.path}", hint="map a single-valued field, or a property that may "
                "repeat (maxOccurs > 1, e.g. specificLandUse)")
        multi.add(step.path)
    return dataclasses.replace(members, multi=frozenset(multi)), dataset


def _leaves(steps: tuple[Step, ...]) -> list[Step]:
    out: list[Step] = []
    for st in steps:
        out.extend(_leaves(st.children) if st.children else [st])
    return out


def _compile(ft: FeatureType, mapping: dict[str, PropertyMap], where: str, lists: CodeLists
             ) -> Plan:
    paths = {path for path, _ in walk(ft.properties)}
    for key in mapping:
        if key not in paths:
            close = difflib.get_close_matches(key, sorted(paths), n=1)
            raise DescriptorError(
                f"{where}.{key}: '{key}' is not a property of {ft.prefix}:{ft.name}"
                + (f" (did you mean '{close[0]}'?)" if close else "")
            )
    members: dict[str, frozenset[str] | None] = {}
    missing: list[str] = []

    def build(props: tuple[Prop, ...], prefix: str, parent_required: bool) -> tuple[Step, ...]:
        steps = []
        for p in props:
            path = prefix + p.name
            m = mapping.get(path)
            required = parent_required and p.min >= 1 and not p.nillable
            if m is None and p.kind == "object" and p.children:
                children = build(p.children, path + ".", required)
                steps.append(Step(path, p, None, children, required=required))
                continue
            if m is None:
                missing.append(path)
                continue
            _check(p, m, path, where)
            fn = load_function(m.compute, f"{where}.{path}") if m.compute else None
            if m.codelist:
                lst = members.setdefault(m.codelist, lists.values(m.codelist))
                for v in [m.value, *(m.map or {}).values()]:
                    uri = lists.uri(m.codelist, str(v))
                    if v is not None and lst is not None and uri not in lst:
                        raise DescriptorError(
                            f"{where}.{path}: '{v}' is not a value of code list {m.codelist}"
                        )
            steps.append(Step(path, p, m, (), fn, required))
        return tuple(steps)

    steps = build(ft.properties, "", True)
    if missing:
        raise DescriptorError(
            f"{where}: properties of {ft.prefix}:{ft.name} neither mapped nor voided: "
            + ", ".join(missing),
            hint="map each one, or give 'void: <reason>' (nillable) or 'omit: <why>' (optional)",
        )
    unchecked = tuple(sorted(k for k, v in members.items() if v is None))
    return Plan(ft, steps, unchecked, members, lists)


_SIMPLE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "double": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "date": lambda v: bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(v))),
    "dateTime": lambda v: bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})?",
                                            str(v))),
}


# Properties the schema lets be nil but the INSPIRE data specification does not: the
# official validator fails them (the test named), so a descriptor may not void them either.
NEVER_NIL = {
    "speciesName.referenceSpeciesId":
        "INSPIRE SD requires a real EU-Nomen or EUNIS id on every member (validator test "
        "sd-as.a.2); leave trees without a verified id out (map the field without a nil rule)",
}


def _check(p: Prop, m: PropertyMap, path: str, where: str) -> None:
    op = m.operation
    if path in NEVER_NIL and (op == "void" or m.nil_reason_if_missing):
        raise DescriptorError(f"{where}.{path}: never nil: {NEVER_NIL[path]}")
    check = _SIMPLE_CHECKS.get(p.simple_type or "")
    if op == "value" and p.kind == "simple" and check and not check(m.value):
        raise DescriptorError(f"{where}.{path}: {m.value!r} is not an xs:{p.simple_type}")
    if op == "void" and not p.nillable:
        raise DescriptorError(f"{where}.{path}: the schema does not allow nil here; map it")
    if m.nil_reason_if_missing and p.kind != "reference":
        raise DescriptorError(f"{where}.{path}: nil_reason_if_missing fits references only")
    if op == "omit" and p.min >= 1:
        raise DescriptorError(f"{where}.{path}: mandatory in the schema, cannot be omitted")
    if op == "identifier" and p.kind != "identifier":
        raise DescriptorError(f"{where}.{path}: 'identifier' only fits an inspireId")
    if op == "dataset_ref" and p.kind != "reference":
        raise DescriptorError(f"{where}.{path}: 'dataset_ref' only fits a reference")
    if op == "geometry" and p.kind != "geometry":
        raise DescriptorError(f"{where}.{path}: 'geometry' only fits a geometry property")
    if p.kind == "object" and op not in {"void", "omit"}:
        raise DescriptorError(f"{where}.{path}: a data type: map its properties, void or omit it")


def _missing(v: Any) -> bool:
    return v is None or (not isinstance(v, str) and bool(pd.isna(v)))


def _shared(column: pd.Series) -> pd.Series:
    """The column as Python objects, one object per distinct value shared by every record
    with it: Arrow strings turned into objects one by one would cost a string per record
    (hundreds of MB at a million trees for a species id column of sixty values)."""
    codes, uniques = pd.factorize(column)
    objects = np.asarray(uniques.astype(object), dtype=object)
    if not len(objects):
        return pd.Series(np.full(len(column), None, dtype=object), index=column.index)
    out = np.where(codes >= 0, objects[np.maximum(codes, 0)], None)
    return pd.Series(out, index=column.index, dtype=object)


def split_values(value: str) -> list[str]:
    """The values of a multi-valued cell ("Kleinkinder, Schulkinder"; cleaning turned line
    breaks, ';' and ',' into ', '), blanks trimmed, empty parts and repeats dropped."""
    return list(dict.fromkeys(p.strip() for p in str(value).split(",") if p.strip()))


def leaf_values(step: Step, data: pd.DataFrame, lists: CodeLists,
                multi: bool = False) -> pd.Series | None:
    """Values of a mapped leaf for every record (None where no per-record values apply).
    ``multi``: a multi-valued field; each value is mapped and coded on its own and the
    record's values are joined by MULTI_SEP (None if one of them has no mapping)."""
    m = step.mapping
    if m is None:
        return None
    if m.field is not None and multi:
        table = m.map

        def each(v: Any) -> str | None:
            if _missing(v):
                return None
            parts = [table.get(x) if table is not None else x for x in split_values(v)]
            if not parts or any(x is None for x in parts):
                return None
            return MULTI_SEP.join(lists.uri(m.codelist, str(x)) if m.codelist else str(x)
                                  for x in parts)

        values = data[m.field].astype(object).map(each)
        return values.astype(object).where(values.notna(), None)
    if m.field is not None:
        values = _shared(data[m.field])
        if m.map is not None:
            table = m.map
            values = values.astype(object).map(
                lambda v: None if _missing(v) else table.get(str(v)))
    elif m.compute is not None and step.fn is not None:
        args = [data[a] for a in m.args]
        values = pd.Series([step.fn(*row) for row in zip(*args, strict=True)], index=data.index,
                           dtype=object)
    else:
        return None
    if m.codelist:  # one URI string per distinct value, shared by every record (memory)
        name = m.codelist
        present = values[values.notna()]
        uris = {v: lists.uri(name, str(v)) for v in pd.unique(present.astype(object))}
        values = values.astype(object).map(lambda v: None if _missing(v) else uris[v])
    return values.astype(object).where(values.notna(), None)


def exclusions(plan: Plan, data: pd.DataFrame,
               unmapped: dict[str, dict[str, int]] | None = None
               ) -> tuple[np.ndarray, pd.DataFrame]:
    """Per record: the reason it cannot be encoded (or None), and the computed leaf values.
    ``unmapped`` receives, per property with a ``map``, the source values it does not list
    and their counts; the property's ``unmapped`` policy decides what happens to them."""
    reasons = np.full(len(data), None, dtype=object)
    values: dict[str, pd.Series] = {}

    def visit(steps: tuple[Step, ...]) -> None:
        for st in steps:
            if st.children:
                visit(st.children)
                continue
            is_multi = st.path in plan.multi
            v = leaf_values(st, data, plan.lists, multi=is_multi)
            if v is None:
                continue
            values[st.path] = v
            absent = v.isna().to_numpy(dtype=bool)
            m = st.mapping
            if m is not None and m.map is not None and m.field is not None:
                source = data[m.field]
                lost = absent & source.notna().to_numpy(dtype=bool)
                if lost.any():
                    table = m.map
                    found = dict(Counter(
                        x for cell in source[lost].astype(str)
                        for x in (split_values(cell) if is_multi else [cell])
                        if x not in table).most_common())
                    if unmapped is not None:
                        unmapped[st.path] = found
                    listed = ", ".join(f"'{k}' ({n:,})" for k, n in found.items())
                    if m.unmapped == "fail":
                        raise PublicationError(
                            f"{st.path}: source values of '{m.field}' without a mapping: "
                            f"{listed}", hint=f"add them to inspire.mapping.{st.path}.map, or "
                            "set 'unmapped: nil' or 'unmapped: leave_out'")
                    if m.unmapped == "leave_out":
                        reasons[lost & (reasons == None)] = (  # noqa: E711
                            f"{st.path}: source value without a mapping")
            if st.required and not (st.mapping and st.mapping.nil_reason_if_missing):
                reasons[absent & (reasons == None)] = f"no value for mandatory {st.path}"  # noqa: E711
            lst = plan.codelists.get(st.mapping.codelist or "") if st.mapping else None
            if lst is not None and is_multi:
                bad = ~absent & np.array([x is not None and not set(x.split(MULTI_SEP)) <= lst
                                          for x in v], dtype=bool)
                reasons[bad & (reasons == None)] = f"{st.path}: value not in code list"  # noqa: E711
            elif lst is not None:
                bad = ~absent & ~v.isin(lst).to_numpy(dtype=bool)
                reasons[bad & (reasons == None)] = f"{st.path}: value not in code list"  # noqa: E711
    visit(plan.steps)
    return reasons, pd.DataFrame(values, index=data.index)
