"""FastAPI app: verification for agencies, intake for clerks (enqueue only)."""
