"""Composition root: settings and the ``ecopy`` command wire pipeline, storage, workers and api."""
