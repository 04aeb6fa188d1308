"""Tracking tokens: one per message, verified without the database, and every change to one
fails."""

from __future__ import annotations

import base64

import pytest

from broadsheet.tracking.tokens import (
    TOKEN_LENGTH,
    TrackingClaim,
    make_tracking_token,
    read_tracking_token,
    tracking_key,
)

KEY = tracking_key("s3cret")


def test_round_trip():
    token = make_tracking_token(KEY, 123_456_789, 42, 1_765_000_000)
    assert len(token) == TOKEN_LENGTH
    assert read_tracking_token(KEY, token) == TrackingClaim(123_456_789, 42, 1_765_000_000)


@pytest.mark.parametrize("position", range(TOKEN_LENGTH))
def test_any_changed_character_is_refused(position):
    token = make_tracking_token(KEY, 7, 3, 1_765_000_000)
    changed = "A" if token[position] != "A" else "B"
    assert read_tracking_token(KEY, token[:position] + changed + token[position + 1 :]) is None


def test_another_campaign_in_the_payload_is_refused():
    raw = bytearray(base64.urlsafe_b64decode(make_tracking_token(KEY, 7, 3, 1_765_000_000)))
    raw[9] = 4  # the campaign id's last byte: campaign 4 instead of 3, signature unchanged
    assert read_tracking_token(KEY, base64.urlsafe_b64encode(bytes(raw)).decode()) is None


@pytest.mark.parametrize("token", ["", "x", "A" * TOKEN_LENGTH, "é" * TOKEN_LENGTH, "!" * 32])
def test_malformed_tokens_are_refused(token):
    assert read_tracking_token(KEY, token) is None


def test_another_secret_or_purpose_does_not_verify():
    token = make_tracking_token(KEY, 7, 3, 1_765_000_000)
    assert read_tracking_token(tracking_key("other"), token) is None
    assert tracking_key("s3cret") != b"s3cret"
