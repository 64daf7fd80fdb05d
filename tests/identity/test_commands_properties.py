"""Properties of the identity commands' payloads on the wire."""

import json
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.identity.messages.commands import RegisterUser

pytestmark = pytest.mark.property


@given(
    user_id=st.uuids(),
    email=st.emails().filter(lambda e: len(e) <= 254),
    display_name=st.text(min_size=1, max_size=200).map(str.strip).filter(bool),
    password=st.text(min_size=12, max_size=64).filter(lambda p: p.strip() == p and len(p) >= 12),
)
def test_register_user_survives_the_wire(
    user_id: UUID, email: str, display_name: str, password: str
) -> None:
    """Property: a command serialised for sending parses back equal, secret included."""
    command = RegisterUser(
        user_id=user_id, email=email, display_name=display_name, password=password
    )
    parsed = RegisterUser.model_validate_json(command.wire_body())
    assert parsed == command
    assert parsed.password.get_secret_value() == password
    assert json.loads(command.model_dump_json())["password"] == "**********"
