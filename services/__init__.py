"""Domain operations shared by the phone API, the admin site and the CLI."""
