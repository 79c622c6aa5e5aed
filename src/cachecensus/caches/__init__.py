"""caches stage of the pipeline."""
