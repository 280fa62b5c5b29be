"""Redis adapters: the response cache, session cache, rate limiter and turn locks."""
