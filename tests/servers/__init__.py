"""Real local servers that integration tests talk to over loopback sockets."""
