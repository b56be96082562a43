"""Pure document pipeline: load → preprocess → ocr → classify → extract → render → sign → verify.

Nothing here talks to Redis, S3, SQL or HTTP, or reads the environment: callers pass options in.
"""
