"""Export and import formats: streaming writers (JSON arrays, NDJSON, node-link JSON, GraphML, ZIP)
and readers (GraphML, node-link JSON, session archives)."""
