"""Entities, value objects and the pure metric calculators. Standard library only."""
