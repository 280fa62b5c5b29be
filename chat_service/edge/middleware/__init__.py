"""ASGI middleware of the edge: request ids, tracing, metrics, access log, CORS, security
headers, authentication and rate limits."""
