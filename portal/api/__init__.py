"""The portal's machine-readable description of its JSON endpoints (OpenAPI 3.1)."""
