"""The feed a user subscribes to: rendering follow-ups as iCalendar, the VTIMEZONEs it
carries, and the per-user cache behind the secret URL."""
