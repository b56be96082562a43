"""Helpers the tests share: services started for real, test PKIs, the corpus, attacks, audits. No tests here."""
