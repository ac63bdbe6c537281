"""Email: handing messages to the SMTP server SMTP_URL names, and the emails calsync sends
(prompts, summaries, the daily digest)."""
