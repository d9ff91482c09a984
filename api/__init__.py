"""The phone API: JSON in and out, one error shape everywhere under /api/."""
