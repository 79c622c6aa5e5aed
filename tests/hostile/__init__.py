"""The hostile-machine tier: cachecensus run against a messy machine (see README)."""
