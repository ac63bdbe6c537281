"""Test-only providers, loaded by dotted path the way a third-party plugin would be."""
