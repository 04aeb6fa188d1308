"""Verb-named use cases. Each takes the session first, flushes, and never commits."""
