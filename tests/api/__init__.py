"""Tests of the room of the same name (see ../../shared/ARCHITECTURE.md)."""
