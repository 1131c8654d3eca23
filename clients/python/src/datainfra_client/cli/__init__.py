"""The `datainfra` command-line tool (click, with rich for tables and progress)."""
