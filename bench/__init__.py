"""Benchmarks: offline plan time/memory and scaling, deploy critical path, monthly cost (``python -m bench``)."""
