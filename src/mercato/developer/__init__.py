"""Developer apps: keys and secrets, permission packages, review status, sandbox tools."""
