"""Benchmarks: chat load against Hotline and a bare relay, run with ``make bench``.

``python -m bench --help`` lists the options; results go to ``bench/results.md``.
"""
