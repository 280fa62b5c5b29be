"""The chat service: a Twirp ChatService over MongoDB, Redis and LLM providers."""
