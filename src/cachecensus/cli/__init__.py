"""The command line: thin functions that parse options, call the pipeline and render."""
