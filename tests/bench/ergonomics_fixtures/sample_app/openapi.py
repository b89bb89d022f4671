"""A hand-written OpenAPI document."""

DOCUMENT = {
    "openapi": "3.1.0",
    "paths": {},
}
