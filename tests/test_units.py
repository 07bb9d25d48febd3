"""Pure helpers: input validation and the shared rate limits."""

from __future__ import annotations

import pytest

from hotline.errors import InvalidInput
from hotline.throttle import Throttle, parse_limit
from hotline.validation import client_id_field, int_field, text_field

LIMIT = 4000


def test_text_field_strips_control_characters_and_whitespace():
    assert (
        text_field({"body": "  hi\x00\x07 there\n "}, "body", max_chars=LIMIT)
        == "hi there"
    )


def test_text_field_keeps_newlines_and_tabs_inside():
    assert text_field({"body": "a\n\tb"}, "body", max_chars=LIMIT) == "a\n\tb"


@pytest.mark.parametrize("value", ["", " ", "\x00", None, 3, ["a"]])
def test_text_field_rejects_empty_and_non_strings(value):
    with pytest.raises(InvalidInput):
        text_field({"body": value}, "body", max_chars=LIMIT)


def test_text_field_limit_counts_characters_not_bytes():
    assert text_field({"body": "好" * LIMIT}, "body", max_chars=LIMIT) == "好" * LIMIT
    with pytest.raises(InvalidInput):
        text_field({"body": "好" * (LIMIT + 1)}, "body", max_chars=LIMIT)


@pytest.mark.parametrize("value", ["abc", "x" * 65, "has space!", 12345678])
def test_client_id_rejects_bad_values(value):
    with pytest.raises(InvalidInput):
        client_id_field({"client_id": value})


def test_client_id_accepts_uuid_like_values():
    assert client_id_field({"client_id": "3f2c9a1e-0b7d"}) == "3f2c9a1e-0b7d"


@pytest.mark.parametrize("value", [True, -1, 1.5, "2", None])
def test_int_field_rejects_non_integers(value):
    with pytest.raises(InvalidInput):
        int_field({"n": value}, "n")


def test_throttle_allows_a_burst_per_key_then_says_when_to_retry():
    throttle = Throttle("memory://")
    limit = parse_limit("2 per minute")
    verdicts = [throttle.hit(limit, "conversation", "1") for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert 1 <= verdicts[-1].retry_after <= 60
    assert throttle.hit(limit, "conversation", "2").allowed
    throttle.clear(limit, "conversation", "1")
    assert throttle.hit(limit, "conversation", "1").allowed


def test_throttle_counts_locally_while_the_shared_store_is_down():
    # Nothing listens on port 1: every call to the shared store fails.
    throttle = Throttle("redis://127.0.0.1:1/0")
    limit = parse_limit("1 per minute")
    assert throttle.hit(limit, "k").allowed
    assert not throttle.hit(limit, "k").allowed
