"""Measure: process-tree resource sampling, the load recorders merged, the machine environment."""
