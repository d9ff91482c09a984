"""Volume generator and timings of the dashboard and reports (run with python -m bench.<module>)."""
