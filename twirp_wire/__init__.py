"""Twirp's wire constants shared by the server's edge, the OpenAPI generator and the SDK.

Dependency-free (standard library only), so the protoc plugin and the clients can import it
without the service.
"""
