"""Messages to apps: the TMC channel (codec first; queues, delivery and webhooks follow)."""
