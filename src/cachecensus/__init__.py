"""cachecensus: find every package cache on a machine; see, trim and bypass them safely."""

__version__ = "0.1.0"
