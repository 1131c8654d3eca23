"""Benchmarks of the datainfra API against the raw drivers, on servers the run starts itself.

`make bench` (or `python -m bench`); sizes come from the environment (see `bench.config`)."""
