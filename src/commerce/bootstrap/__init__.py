"""The composition root: one builder per process, the only place that wires adapters.

The only package that reads :class:`~commerce.config.Settings` besides the entrypoints;
everything below it receives plain values. :mod:`.wiring` holds what every process builds,
:mod:`.service` the worker's wired service, :mod:`.read_side` its read side, and
:mod:`.operators` what operators run beside it.
"""
