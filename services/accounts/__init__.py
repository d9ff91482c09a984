"""Accounts: credentials and tokens, user administration, WeChat login."""
