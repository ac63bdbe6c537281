"""Reaching addresses a user gave us: the SSRF table of allowed addresses, guarded
connections with deadlines, and the calendar download built on them."""
