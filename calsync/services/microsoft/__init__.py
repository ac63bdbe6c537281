"""Microsoft 365 / Outlook: the OAuth flow through msal, connections, change subscriptions."""
