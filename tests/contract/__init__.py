"""HTTP contract suite: both apps, real servers, real PostgreSQL (docs/CONTRACT.md)."""
