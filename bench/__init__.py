"""Foundation benchmarks: `python -m bench` (or `make bench`).

Starts a throwaway stack (Redis, secantusd-py, a fake OpenAI server, the app under one uvicorn
worker), runs the scenarios and writes `docs/benchmarks/foundation.json`.
"""
