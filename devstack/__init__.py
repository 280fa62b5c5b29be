"""Development stack: real Redis and Mongo-protocol servers on loopback, and `make run`."""
