"""Every metric the service can expose, and reading samples out of an exposition."""

import importlib
import pkgutil
import re

from faststream.rabbit import RabbitBroker

from commerce.platform.observability import metrics as _metrics
from commerce.platform.observability import metrics_registry

__all__ = ["exposed_metric_names", "samples"]

_OBSERVABILITY = "commerce.platform.observability"


def exposed_metric_names() -> set[str]:
    """The name of every metric family in the registry once every ``metrics*`` module of
    the observability package is loaded (each registers its metrics on import, while the
    running service loads them with the code that sets them) and FastStream's broker
    metrics are recorded into it."""
    package = importlib.import_module(_OBSERVABILITY)
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("metrics"):
            importlib.import_module(f"{_OBSERVABILITY}.{module.name}")
    _metrics.measure_broker(RabbitBroker(), app_name="commerce")
    text = metrics_registry.exposition()[0].decode()
    return set(re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE))


def samples(exposition: str, name: str, **labels: str) -> list[float]:
    """The values of ``name``'s samples whose labels include ``labels``."""
    values = []
    for line in exposition.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            values.append(float(match.group(2)))
    return values
