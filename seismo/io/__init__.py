"""Input and output: station feeds, the SeedLink server, the InfluxDB store,
QuakeML/JSON files and plots.
"""
