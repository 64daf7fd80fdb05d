"""FastStream subscribers: one router per bounded context, one tiny handler per message."""
