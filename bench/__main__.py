"""Run every benchmark: `make bench` (or `python -m bench`)."""

from bench import (
    coach_stats,
    feed_serving,
    google_calls,
    hostile,
    import_cost,
    inbox_pages,
    keystrokes,
    mail_delay,
    sync_cost,
)

if __name__ == "__main__":
    sync_cost.main()
    hostile.main([])
    mail_delay.main()
    coach_stats.main([])
    inbox_pages.main([])
    keystrokes.main()
    feed_serving.main()
    google_calls.main()
    import_cost.main()
