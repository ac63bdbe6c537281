"""Google plumbing that touches the database: the OAuth flow, connections as sources and
the push channels. The Google Calendar API itself is the provider in `calsync.providers`."""
