"""Pure helpers: input validation and the token bucket."""

from __future__ import annotations

import pytest

from hotline.errors import InvalidInput
from hotline.throttle import TokenBucket
from hotline.validation import client_id_field, int_field, text_field


def test_text_field_strips_control_characters_and_whitespace():
    assert text_field({"body": "  hi\x00\x07 there\n "}, "body") == "hi there"


def test_text_field_keeps_newlines_and_tabs_inside():
    assert text_field({"body": "a\n\tb"}, "body") == "a\n\tb"


@pytest.mark.parametrize("value", ["", " ", "\x00", None, 3, ["a"]])
def test_text_field_rejects_empty_and_non_strings(value):
    with pytest.raises(InvalidInput):
        text_field({"body": value}, "body")


def test_text_field_limit_counts_characters_not_bytes():
    assert text_field({"body": "好" * 4000}, "body") == "好" * 4000
    with pytest.raises(InvalidInput):
        text_field({"body": "好" * 4001}, "body")


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


def test_token_bucket_allows_bursts_then_refills():
    now = [0.0]
    bucket = TokenBucket(capacity=2, rate=1.0, clock=lambda: now[0])
    assert [bucket.take(), bucket.take(), bucket.take()] == [True, True, False]
    now[0] = 1.0
    assert bucket.take() is True
    assert bucket.take() is False
