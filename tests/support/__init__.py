"""Everything the test modules share: real processes (exporter, simulator, Prometheus,
Alertmanager), the PKI, the fault catalogue and rig, the dashboard's panels.

Test modules import from here, never from each other, ``loadtest`` or ``benchmarks``.
"""
