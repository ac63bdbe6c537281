"""Run every benchmark: `make bench` (or `python -m bench`)."""

from bench import hostile, sync_cost

if __name__ == "__main__":
    sync_cost.main()
    hostile.main([])
