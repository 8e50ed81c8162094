"""The production stack (docs/production.md): Airflow on PostgreSQL with the
CeleryExecutor and Redis, InfluxDB, ``seismo stream`` and the console as services.

``deploy/*.service`` (systemd units) are the one description of every service: its
command line, environment file, restart policy and health probe. Where systemd is
not PID 1, :mod:`~seismo.deploy.supervisor` runs the same command lines itself.

- :mod:`~seismo.deploy.layout`: where the stack keeps its files; the environment file
  (ports, URLs, generated secrets) and the stack's configuration overlay.
- :mod:`~seismo.deploy.units`: reading unit files into the commands to run.
- :mod:`~seismo.deploy.probes`: health probes (``X-Seismo-Health=`` of the units).
- :mod:`~seismo.deploy.supervisor`: starts services in dependency order, restarts a
  crashed one with backoff, stops them in reverse order; holds (planned outages).
- :mod:`~seismo.deploy.provision`: PostgreSQL role and database, ``airflow db
  migrate``, InfluxDB database, retention policies and continuous queries, the
  console's admin user.
- :mod:`~seismo.deploy.stack`: ``up``, ``status``, ``down``, ``backup``, ``restore``.
- :mod:`~seismo.deploy.check`: the acceptance check (a scenario earthquake through
  the whole stack).
- :mod:`~seismo.deploy.feed`: the drill network (the simulator over SeedLink, with
  scenario earthquakes scheduled at run time).

This package is a shell: it may import every layer below the CLI; nothing in the
library imports it.
"""
