"""FastStream's broker metrics (``faststream_*``) with a bounded ``destination_name``.

FastStream names a RabbitMQ destination ``<exchange>.<routing key>``. Our events are
routed by aggregate id, so that label would get one value per aggregate: a new histogram
child (a dozen buckets) for every user or order, in every consuming and publishing
process - memory that only grows, a ``/metrics`` page that grows with it, and the cost of
creating the child on the hot path. Here the routing key is kept only where it names a
queue (the default exchange, the command exchange); other exchanges count as one
destination. Kafka destinations are topics already.

FastStream's consume metrics are kept off the hot channels (:func:`is_hot`): a command or
an event handled by the service is timed and counted by ``commerce_handler_duration_seconds``
and ``commerce_commands_processed_total`` already, and a second middleware per message cost
more than the metric was worth (docs/adr/0027). Everything else consumed (retries, dead
letters, skipped and parked messages, queries) and every publish keeps them.
"""

from __future__ import annotations

from typing import Any

from faststream.prometheus import ConsumeAttrs
from faststream.rabbit.prometheus.provider import RabbitMetricsSettingsProvider
from faststream.rabbit.response import RabbitPublishCommand

from commerce.platform.messaging.channels import COMMAND_EXCHANGE

__all__ = ["BoundedRabbitMetrics", "is_hot", "rabbit_destination"]

_COLD_TOPIC_SUFFIXES = (".dlq", ".skipped")
_RETRY_TOPIC = ".retry."


def rabbit_destination(exchange: str | None, routing_key: str | None) -> str:
    """``exchange.routing_key`` where the routing key names a queue, else the exchange."""
    if not exchange:
        return f"default.{routing_key}"
    if exchange == COMMAND_EXCHANGE or exchange.endswith(f".{COMMAND_EXCHANGE}"):
        return f"{exchange}.{routing_key}"
    return exchange


def is_hot(raw: Any) -> bool:
    """Whether a consumed transport-native message is on a hot channel: a command or an
    event on its way to the service's handlers.

    RabbitMQ: anything routed by an exchange of ours (the command exchange, a stream's
    exchange); what came through the default exchange (retries, dead letters, skipped and
    parked messages, queries) is not. Kafka: any topic but the retry, dead-letter and
    skipped topics (a batch is judged by its first record).
    """
    if isinstance(raw, tuple | list):
        if not raw:
            return False
        raw = raw[0]
    exchange = getattr(raw, "exchange", None)
    if exchange is not None:  # RabbitMQ
        return bool(exchange)
    topic = getattr(raw, "topic", None)
    if not isinstance(topic, str):
        return False
    return not topic.endswith(_COLD_TOPIC_SUFFIXES) and _RETRY_TOPIC not in topic


class BoundedRabbitMetrics(RabbitMetricsSettingsProvider):
    """FastStream's RabbitMQ metrics settings with :func:`rabbit_destination`."""

    def get_consume_attrs_from_message(self, msg: Any) -> ConsumeAttrs:
        """Consume labels: the bounded destination, the body's size, one message."""
        raw = msg.raw_message
        return {
            "destination_name": rabbit_destination(raw.exchange, raw.routing_key),
            "message_size": len(msg.body),
            "messages_count": 1,
        }

    def get_publish_destination_name_from_cmd(self, cmd: RabbitPublishCommand) -> str:
        """Publish label: the bounded destination."""
        return rabbit_destination(cmd.exchange.name, cmd.destination)
