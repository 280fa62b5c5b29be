"""Chat-model adapters: OpenAI, Anthropic and the offline model, with retries and the fallback
chain around them."""
