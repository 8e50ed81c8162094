"""seismo: the data pipeline of a city seismic monitoring network.

Importing this package has no side effects: no folders are created, no log
handlers are installed and Airflow is never imported.
"""

from seismo.errors import SeismoError

__all__ = ["SeismoError", "__version__"]
__version__ = "0.1.0"
