"""Tests of datainfra on a Citus cluster that have no single-PostgreSQL counterpart."""
