"""Station stage: pre-processing, picking and amplitudes of one station's waveforms.

Pure functions of waveforms, metadata and settings; no I/O. Modules:
``processing``, ``picker`` (kernels, triggers, onsets, picks), ``amplitudes``
(per-second WA/PGA/PGV peaks), ``response`` (instrument and filter responses).
"""
