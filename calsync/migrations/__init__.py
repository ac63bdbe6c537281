"""Alembic migrations for calsync's schema, run through `calsync.migrate`."""
