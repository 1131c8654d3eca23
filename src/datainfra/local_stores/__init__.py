"""The stores `python -m datainfra` and the tests start on this machine: process supervision, not adapters.

`process` is the one lifecycle (data-dir lock, free port, start, readiness wait, clean-up of a server
left by a killed owner, stop with escalation); `postgres` and `neo4j` are its two specialisations.
Import the modules themselves: this package re-exports nothing, so importing it loads no driver."""
