"""Result: Ok / Err for expected failures."""

import pytest

from commerce.platform.kit.errors import InvalidValue
from commerce.platform.kit.result import Err, Ok, Result, UnwrapError

pytestmark = pytest.mark.unit


def _half(n: int) -> Result[int, str]:
    return Ok(n // 2) if n % 2 == 0 else Err(f"{n} is odd")


def test_ok_carries_a_value_through_map_and_and_then() -> None:
    result = Ok(8).map(lambda n: n + 2).and_then(_half)
    assert result == Ok(5)
    assert result.is_ok()
    assert not result.is_err()
    assert result.unwrap() == 5
    assert result.unwrap_or(0) == 5
    assert Ok(1).map_err(str) == Ok(1)


def test_err_short_circuits() -> None:
    result = Ok(3).and_then(_half).map(lambda n: n * 100).and_then(_half)
    assert result == Err("3 is odd")
    assert result.is_err()
    assert not result.is_ok()
    assert result.unwrap_or(-1) == -1
    assert Err("x").map_err(str.upper) == Err("X")


def test_unwrap_of_err_raises_the_error_when_it_is_an_exception() -> None:
    with pytest.raises(InvalidValue, match="bad"):
        Err(InvalidValue("bad")).unwrap()
    with pytest.raises(UnwrapError):
        Err("plain").unwrap()


def test_results_support_pattern_matching() -> None:
    outcomes: list[str] = []
    for result in (_half(4), _half(5)):
        match result:
            case Ok(value):
                outcomes.append(f"ok {value}")
            case Err(error):
                outcomes.append(f"err {error}")
    assert outcomes == ["ok 2", "err 5 is odd"]
