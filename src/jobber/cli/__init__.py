"""The ``jobber`` command line: thin, one module per capability."""
