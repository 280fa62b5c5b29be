"""The assistant's tools: the registry, the parallel runner and the built-in tools.

A tool is a small class with a name, a description, a JSON schema of its arguments and a
synchronous `run`; see `tools.registry.Tool`. Third-party tools are added through the
`chat_service.tools` entry-point group (`tools.plugins`).
"""
