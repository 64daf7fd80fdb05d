"""Properties of identifiers and e-mail addresses."""

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.identity.domain.errors import InvalidEmail
from commerce.identity.domain.values import EmailAddress
from commerce.platform.kit.ids import new_uuid7

pytestmark = pytest.mark.property

_ATOM = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_-",
    min_size=1,
    max_size=20,
)
_LABEL = st.from_regex(r"\A[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?\Z")


def test_uuid7_is_version_7_rfc_variant_and_time_ordered_across_milliseconds() -> None:
    """Property: new_uuid7 yields v7 ids whose order follows creation time (ms)."""
    earlier = new_uuid7()
    time.sleep(0.002)
    later = new_uuid7()
    for value in (earlier, later):
        assert value.version == 7
        assert value.variant == "specified in RFC 4122"
    assert earlier < later


@given(
    local=_ATOM,
    labels=st.lists(_LABEL, min_size=1, max_size=3),
    tld=st.from_regex(r"\A[a-zA-Z]{2,6}\Z"),
)
def test_email_normalisation_is_idempotent(local: str, labels: list[str], tld: str) -> None:
    """Property: parse(str(parse(x))) == parse(x) for every valid address x."""
    text = f"{local}@{'.'.join([*labels, tld])}"
    parsed = EmailAddress.parse(text)
    assert EmailAddress.parse(str(parsed)) == parsed
    assert parsed.value == parsed.value.lower()


@given(st.text(max_size=40).filter(lambda t: "@" not in t))
def test_text_without_an_at_sign_is_never_an_email(text: str) -> None:
    """Property: no string lacking '@' parses as an address."""
    with pytest.raises(InvalidEmail):
        EmailAddress.parse(text)
