"""End-to-end tests: the app under uvicorn on loopback, over real servers."""
