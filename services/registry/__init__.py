"""The registry: people served, their field checks and imports, search, stations and villages."""
