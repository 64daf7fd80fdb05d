"""The message transport: CloudEvents envelope, channels, RabbitMQ and Kafka."""
