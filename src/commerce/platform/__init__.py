"""The context-free machinery: no business words, imports no bounded context."""
