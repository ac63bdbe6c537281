"""The feed a user subscribes to: rendering follow-ups as iCalendar, the VTIMEZONEs it
carries, and the per-user cache behind the secret URL."""

# Imported with the package so that every process writing follow-ups (web, worker, CLI)
# marks the cached feeds stale in the same transaction.
from calsync.feed import invalidation as invalidation
