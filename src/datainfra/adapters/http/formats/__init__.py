"""Export and import formats: streaming writers (CSV and NDJSON from typed rows, JSON arrays, node-link
JSON, GraphML, ZIP) and readers (GraphML, node-link JSON, session archives)."""
