"""OAuth pages (authorize, consent) and the server-to-server token endpoint."""
