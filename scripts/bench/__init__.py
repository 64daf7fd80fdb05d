"""The benchmark harness behind ``make bench`` (issue #6): measuring, not optimising.

Run ``uv run python -m scripts.bench --help``. Scenarios, each per transport (RabbitMQ,
and Kafka on a Tansu broker):

* ``raw`` - aio-pika / aiokafka publisher with confirms and a consumer that acks, no
  database: the transport's ceiling on this machine;
* ``naive`` - a plain FastStream subscriber with an SQLAlchemy ORM session per message
  (one row and one outbox-like row, commit, ack): what a team writes by hand;
* ``pipeline`` - the real ``commerce run worker`` and ``commerce run relay`` processes on
  RegisterUser commands: inbox, state and outbox in one transaction, the relay publishing
  each event with confirms;
* ``latency`` - the pipeline at a fixed offered load, with percentiles of
  command→commit, commit→event published and command→event consumed;
* ``relay`` - outbox drain rate with one and with two relay processes;
* ``soak`` (``--soak``) - the pipeline at fixed load for minutes, RSS sampled.

Every figure is the median of ``--runs`` runs with its min-max; the results go to the
terminal, to JSON and to ``docs/performance.md``.
"""

__all__: list[str] = []
