"""RQ job functions and the issuing service they share with the CLI."""
