"""The FastAPI implementation of the benchmark contract (docs/CONTRACT.md)."""
