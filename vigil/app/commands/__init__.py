"""Command groups of the ``vigil`` CLI, one module per group."""
