"""Accounts app: the roles (Designers, Operators, Analysts) as permission groups."""
