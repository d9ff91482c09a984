"""Visits: check-in submission, the review workflow and queue, authenticity warnings."""
