"""Database fixtures; the store work fills this in."""
