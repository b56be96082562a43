"""Wrappers around external programs: the only place in ``pipeline`` that starts a subprocess."""
