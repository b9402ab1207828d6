"""The OAuth 2.0 authorization server: authorize, token, refresh, revoke."""
