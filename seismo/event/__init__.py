"""Event stage: association, location, magnitude and intensity.

Pure functions of picks and amplitude series; no I/O. Modules: ``associate`` (with
``gridstack``, the grid stack, and ``candidate``, the candidates it grows; distant
events in ``planewave``, ``distant``, ``depthphase`` and ``trains``),
``locate``, ``velocity`` (travel times), ``identity`` (event ids), ``arrivals``
(the P - 1 s to S + w window every measurement reads), ``magnitude`` (ML),
``surface`` (Ms_BB, the preferred magnitude), ``intensity`` (observed intensity),
``attenuation`` (predicted intensity, site terms), ``sites``.
"""
