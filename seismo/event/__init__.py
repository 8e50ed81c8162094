"""Event stage: association, location, magnitude and intensity.

Pure functions of picks and amplitude series; no I/O.
"""
