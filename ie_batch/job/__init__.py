"""The Ray batch job: read shards -> extract in an actor pool -> write and score -> commit.

One module per role; `run` ties them together. Nothing here is imported by the schema, prompt,
parsing, metrics or extraction layers.
"""
