"""discover stage of the pipeline."""
