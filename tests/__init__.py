"""The chat service's tests, in tiers: unit, integration, e2e."""
