"""SeedLink ``SELECT`` patterns: parsing and matching against record stream ids.

A selector is ``[!][LL]CCC[.T]``: optional negation, location (2 characters,
only when the body is longer than 3), channel (``?`` wildcards, padded with
``?`` to 3 characters) and SeedLink record type. Reference: SeisComP SeedLink
documentation, "SeedLink protocol" (seiscomp.de/doc/apps/seedlink.html).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SELECTOR_RE = re.compile(r"^(!?)([A-Za-z0-9?\- ]{0,5})(?:\.([A-Za-z?]))?$")


@dataclass(frozen=True)
class Selector:
    """One SELECT pattern (see the module docstring); :meth:`parse` reads its text."""

    negate: bool
    location: str | None  # None: any location
    channel: str
    rtype: str | None  # None: any type

    @classmethod
    def parse(cls, text: str) -> Selector:
        m = _SELECTOR_RE.match(text)
        if not m:
            raise ValueError(f"bad selector {text!r}")
        neg, body, rtype = m.group(1), m.group(2), m.group(3)
        if len(body) > 3:
            loc, cha = body[:-3], body[-3:]
            loc = loc.rjust(2)
        else:
            loc, cha = None, body or "???"
        return cls(
            bool(neg),
            loc,
            cha.ljust(3, "?") if len(cha) < 3 else cha,
            rtype.upper() if rtype else None,
        )

    def matches(self, loc: str, cha: str, rtype: str) -> bool:
        if self.rtype is not None and self.rtype not in ("?", rtype):
            return False
        if self.location is not None and not _match_code(self.location, loc.ljust(2)):
            return False
        return _match_code(self.channel, cha.ljust(3))


def _match_code(pattern: str, code: str) -> bool:
    if len(pattern) != len(code):
        return False
    for p, c in zip(pattern, code, strict=True):
        if p == "?" or p == c or (p in "- " and c in "- "):
            continue
        return False
    return True


def selected(selectors: list[Selector], loc: str, cha: str, rtype: str) -> bool:
    """Whether a record passes ``selectors``: any positive one matches (or there is
    none), and no negated one does."""
    pos = [s for s in selectors if not s.negate]
    if pos and not any(s.matches(loc, cha, rtype) for s in pos):
        return False
    return not any(s.matches(loc, cha, rtype) for s in selectors if s.negate)
