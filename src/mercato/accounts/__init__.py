"""Users, roles, passwords and signed-in browser sessions."""
