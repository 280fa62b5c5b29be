"""The edge: the Twirp endpoint and its handlers, the ASGI middleware, health, and the web
pages. It turns HTTP into calls of the core and the core's errors into Twirp errors."""
