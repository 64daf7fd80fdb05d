"""``COMMERCE_RATE_LIMITS__*``: defaults, per-channel overrides, and clear errors."""

import pytest

from commerce.bootstrap.rate_limits import rate_limit_policy
from commerce.config import InvalidSettingsError, RateLimitSettings, load_settings
from commerce.platform.resilience.rate_limit import Limit

pytestmark = pytest.mark.unit

PLACE_ORDER = "commerce.orders.place-order"


def test_a_channel_override_replaces_only_what_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMERCE_RATE_LIMITS__TENANT_RATE", "100")
    monkeypatch.setenv("COMMERCE_RATE_LIMITS__TENANT_BURST", "200")
    monkeypatch.setenv(
        "COMMERCE_RATE_LIMITS__CHANNELS",
        f'{{"{PLACE_ORDER}": {{"tenant_rate": 5, "action": "reject"}}}}',
    )
    policy = rate_limit_policy(load_settings().rate_limits)
    placing = policy.of(PLACE_ORDER)
    assert (placing.tenant, placing.action) == (Limit(5, 200), "reject")
    other = policy.of("commerce.orders.add-line")
    assert (other.tenant, other.action) == (Limit(100, 200), "defer")
    assert other.sender == placing.sender == Limit(20_000, 40_000)


def test_an_unknown_channel_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMERCE_RATE_LIMITS__CHANNELS", '{"commerce.orders.place-ordr": {}}')
    with pytest.raises(InvalidSettingsError) as error:
        load_settings()
    assert "COMMERCE_RATE_LIMITS__CHANNELS" in str(error.value)
    assert "commerce.orders.place-ordr" in str(error.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COMMERCE_RATE_LIMITS__TENANT_RATE", "0"),
        ("COMMERCE_RATE_LIMITS__SENDER_BURST", "0"),
        ("COMMERCE_RATE_LIMITS__ACTION", "drop"),
        ("COMMERCE_RATE_LIMITS__CHANNELS", f'{{"{PLACE_ORDER}": {{"rate": 5}}}}'),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidSettingsError) as error:
        load_settings()
    assert variable in str(error.value)


def test_the_defaults_are_on_and_far_above_the_benches_rates() -> None:
    defaults = RateLimitSettings()
    assert defaults.enabled
    assert defaults.action == "defer"
    assert defaults.tenant_rate >= 2_500  # the pipeline bench's target, one tenant
