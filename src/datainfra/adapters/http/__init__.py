"""The HTTP adapter: Litestar routes that translate requests into service calls and results into JSON."""
