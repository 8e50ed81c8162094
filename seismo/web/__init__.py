"""The operations console: ``seismo web`` (docs/web.md).

A FastAPI application (:func:`seismo.web.app.create_app`) over the same store,
review and alert code as the command line: :mod:`seismo.web.data` is the one
module that reads and acts, the routes only render what it returns. Importing this
package imports nothing heavy (the configuration imports :mod:`seismo.web.settings`).
"""
