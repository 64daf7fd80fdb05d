"""``COMMERCE_KILL_SWITCH__*``: tuning per consumer over the defaults, and clear errors."""

import pytest

from commerce.config import InvalidSettingsError, load_settings

pytestmark = pytest.mark.unit

PLACE_ORDER = "commerce.orders.place-order"


def test_a_consumer_override_replaces_only_what_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMERCE_KILL_SWITCH__TRIP_AFTER", "4")
    monkeypatch.setenv(
        "COMMERCE_KILL_SWITCH__CONSUMERS", f'{{"{PLACE_ORDER}": {{"trip_after": 7}}}}'
    )
    section = load_settings().kill_switch
    assert section.tuning_for(PLACE_ORDER).trip_after == 7
    assert section.tuning_for(PLACE_ORDER).hold_seconds == section.hold_seconds
    assert section.tuning_for("commerce.orders.add-line").trip_after == 4


def test_an_unknown_consumer_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMERCE_KILL_SWITCH__CONSUMERS", '{"commerce.orders.place-ordr": {}}')
    with pytest.raises(InvalidSettingsError) as error:
        load_settings()
    assert "COMMERCE_KILL_SWITCH__CONSUMERS" in str(error.value)
    assert "commerce.orders.place-ordr" in str(error.value)
