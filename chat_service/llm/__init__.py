"""Language models: the ChatModel port and its adapters."""
