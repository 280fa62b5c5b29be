"""Operations tools run beside the service, never in its request path: backup, restore, smoke
test, and one owner's export and erasure."""
