"""Durable outbound calls (transactional outbox) and the worker that sends them."""
