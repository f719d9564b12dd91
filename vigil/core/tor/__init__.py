"""Tor for Vigil: controlling tor daemons (stem), circuit isolation, the private test network."""
