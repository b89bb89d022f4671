"""Baselines: the smallest idiomatic app of each stack serving the benchmark's reads (floor, item, list).

They answer the same bytes as our apps for those reads, over the same models, schemas and pool settings, and
nothing else; the report shows each of our apps as a fraction of its stack's baseline ("what our app adds").
"""
