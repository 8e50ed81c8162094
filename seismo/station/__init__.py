"""Station stage: pre-processing, picking and amplitudes of one station's waveforms.

Pure functions of waveforms, metadata and settings; no I/O.
"""
