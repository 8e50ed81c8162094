"""Event stage: association, location, magnitude and intensity.

Pure functions of picks and amplitude series; no I/O. Modules: ``associate``,
``locate``, ``velocity`` (travel times), ``identity`` (event ids), ``arrivals``
(the P - 1 s to S + w window every measurement reads), ``magnitude`` (ML),
``surface`` (Ms_BB, the preferred magnitude), ``intensity`` (observed intensity),
``attenuation`` (predicted intensity, site terms), ``sites``.
"""
