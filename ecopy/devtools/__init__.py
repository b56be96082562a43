"""Developer tooling beside the composition root: ``ecopy bench``, ``ecopy eval`` and the SoftHSM2
token helper that both the benchmark and the tests use (the tests import it from here)."""
