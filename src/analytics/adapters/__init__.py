"""Implementations of the application's ports: storage, clock, key hashing."""
