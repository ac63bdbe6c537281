"""Crash-safety harness: real worker processes that a test can SIGKILL at will."""
