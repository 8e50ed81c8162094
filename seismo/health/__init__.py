"""Station health: QC metrics, OK/WARN/FAIL status, change tracking and reports.

See docs/health.md. Public API::

    assess_channel, assess_station          pure: ObsPy data -> StationHealth (+ PSDs)
    check_network, run_health               fetch + assess (+ store, notices)
    HealthStateTracker                      status changes since the last run
    seismo.health.report.write_report       offline HTML report (imports matplotlib)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seismo.lazy import lazy_exports

if TYPE_CHECKING:
    from seismo.health.run import HealthRun, HealthRunResult, check_network, run_health
    from seismo.health.state import HealthStateTracker, StatusChange
    from seismo.health.status import assess_channel, assess_station, worst

__all__ = [
    "HealthRun",
    "HealthRunResult",
    "HealthStateTracker",
    "StatusChange",
    "assess_channel",
    "assess_station",
    "check_network",
    "run_health",
    "worst",
]

# Imported on first use: the package's settings module is read by the configuration
# loader without importing the pipeline code (seismo.lazy).
__getattr__ = lazy_exports(__name__, {
    "HealthRun": "seismo.health.run",
    "HealthRunResult": "seismo.health.run",
    "HealthStateTracker": "seismo.health.state",
    "StatusChange": "seismo.health.state",
    "assess_channel": "seismo.health.status",
    "assess_station": "seismo.health.status",
    "check_network": "seismo.health.run",
    "run_health": "seismo.health.run",
    "worst": "seismo.health.status",
})
