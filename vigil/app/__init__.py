"""Vigil's application: the `vigil` command line and what only it uses (analyst views, the demo,
the local stack, the private Tor test network)."""
