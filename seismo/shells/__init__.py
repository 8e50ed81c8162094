"""Shells: gather inputs, call the stages, perform the side effects.

One window, a range (``seismo detect``), store-and-alert, the Airflow task bodies,
review, the bulletin, drills and the demo.
"""
