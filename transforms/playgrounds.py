"""Pure functions for playground cadastres, named by descriptors."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"^(?:SP|Spielplatz|Spielplatz Nr\.?|Nr\.?)?\s*-?\s*0*(\d+)$", re.I)


def playground_number(text: str | None) -> str | None:
    """The playground number in one form, whatever the export wrote.

    >>> [playground_number(t) for t in ["SP-012", "12", "Spielplatz 12", "012", " 12 "]]
    ['12', '12', '12', '12', '12']
    >>> playground_number("Spielplatz am See") is None
    True
    """
    if not isinstance(text, str):
        return None
    m = _NUMBER.match(text.strip())
    return m.group(1) if m else None
