"""Fakes we own (scripted models, fake provider servers), checked by contract tests."""
