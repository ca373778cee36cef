"""Load and soak runs of the real exporter process against the in-process simulator."""
