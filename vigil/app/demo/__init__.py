"""The demo: a generated multilingual ad board, realistic sample ads, and ``vigil demo``'s run."""
