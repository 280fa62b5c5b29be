"""Caching of answers and tool results: what is cached, under which key, for how long, and the
counts of hits and misses. The store behind it is the ResponseCache port."""
