"""act stage of the pipeline."""
