"""Use cases: one class per resource, each depending only on ports. The HTTP adapter calls these;
they own the rules that span ports (a dataset is a catalog entry *and* a table)."""
