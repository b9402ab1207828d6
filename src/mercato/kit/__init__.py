"""Framework-light helpers that never import a domain package."""
