"""Reporting: visit schedules, coverage, the dashboard, the bureau's report, exports."""
