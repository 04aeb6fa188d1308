"""Settings come from the environment; a bad value stops the start with the variable named."""

from __future__ import annotations

import pytest

from broadsheet.errors import ConfigError
from broadsheet.settings import load_settings, parse_smtp_url


def env(tmp_path, **values: str) -> dict[str, str]:
    return {"BROADSHEET_INSTANCE": str(tmp_path), **values}


def test_defaults_are_the_embedded_setup(tmp_path):
    s = load_settings(env(tmp_path))
    assert s.database_url == f"sqlite:///{tmp_path / 'broadsheet.db'}"
    assert s.redis_url == f"unix://{tmp_path / 'redis.sock'}"
    assert s.smtp_url == "smtp://127.0.0.1:8025"
    assert s.embedded_redis and s.embedded_smtp
    assert s.public_url == "http://127.0.0.1:5000"
    assert (s.send_rate, s.batch_size, s.port) == (20.0, 100, 5000)


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = load_settings(env(tmp_path)).secret_key
    assert len(first) >= 32
    assert load_settings(env(tmp_path)).secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_public_url_follows_port(tmp_path):
    assert load_settings(env(tmp_path, PORT="8080")).public_url == "http://127.0.0.1:8080"


def test_external_services_replace_embedded_ones(tmp_path):
    s = load_settings(
        env(
            tmp_path,
            DATABASE_URL="postgresql://u:p@db/news",
            REDIS_URL="redis://cache:6379/0",
            SMTP_URL="smtp+starttls://me:pw@relay.example.org:587",
        )
    )
    assert s.database_url == "postgresql+psycopg://u:p@db/news"
    assert not s.embedded_redis and not s.embedded_smtp
    assert (s.smtp.host, s.smtp.port, s.smtp.starttls, s.smtp.username) == (
        "relay.example.org", 587, True, "me",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SEND_RATE", "fast"),
        ("SEND_RATE", "0"),
        ("BATCH_SIZE", "-5"),
        ("BATCH_SIZE", "1.5"),
        ("PORT", "70000"),
        ("SMTP_URL", "http://relay.example.org"),
        ("SMTP_URL", "smtp://"),
        ("SMTP_URL", "smtp://relay.example.org:notaport"),
        ("DATABASE_URL", "mysql://db/news"),
        ("REDIS_URL", "localhost:6379"),
        ("PUBLIC_URL", "news.example.org"),
        ("MAIL_FROM", "not an address"),
        ("RETRY_DELAYS", "30,soon"),
        ("RETRY_DELAYS", "30,0"),
        ("RETRY_DELAYS", "100000"),
        ("RETRY_MAX_AGE", "0"),
        ("PAUSE_FAILURE_RATE", "1.5"),
        ("PAUSE_FAILURE_RATE", "half"),
        ("SMTP_TIMEOUT", "-1"),
        ("CLAIM_LEASE", "1"),
        ("TICK_SECONDS", "never"),
        ("SMTP_URL", "smtp://relay.example.org?rate=fast"),
        ("SMTP_URL", "smtp://relay.example.org?connections=0"),
        ("SMTP_URL", "smtp://relay.example.org?speed=3"),
        ("SMTP_URL", "smtp://a.example.org smtp://a.example.org:25"),
        ("SMTP_URL", " , "),
        ("DOMAIN_RATES", "gmail.com"),
        ("DOMAIN_RATES", "gmail.com=0"),
        ("DOMAIN_RATES", "not a domain=5"),
        ("DOMAIN_RATES", "gmail.com=1,GMAIL.com=2"),
        ("RATE_RECOVERY", "0"),
        ("SES_TOPIC_ARNS", "broadsheet-ses"),
        ("SES_TOPIC_ARNS", "arn:aws:sns:eu-west-1:123456789012:ok,arn:aws:sqs:eu-west-1:1:q"),
        ("SES_TOPIC_ARNS", "arn:aws:sns:eu-west-1:12345:short-account"),
        ("TIMEZONE", "Paris"),
        ("TIMEZONE", "Europe/Atlantis"),
        ("TIMEZONE", "../../etc/passwd"),
        ("TRUSTED_PROXIES", "-1"),
        ("TRUSTED_PROXIES", "yes"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, variable, value):
    with pytest.raises(ConfigError) as info:
        load_settings(env(tmp_path, **{variable: value}))
    assert info.value.variable == variable
    assert str(info.value).startswith(f"{variable}: ")


def test_several_relays_each_with_their_limits(tmp_path):
    s = load_settings(
        env(
            tmp_path,
            SMTP_URL="smtp://mx1.example.org?rate=100, smtps://u%40x:p%2Cw@mx2.example.org"
            "?connections=4",
            DOMAIN_RATES="Gmail.com=20, yahoo.com=2.5",
        )
    )
    first, second = s.relays
    assert (first.name, first.rate, first.connections) == ("mx1.example.org:25", 100, 10)
    assert (second.name, second.rate, second.connections) == ("mx2.example.org:465", None, 4)
    assert (second.username, second.password) == ("u@x", "p,w")
    assert s.smtp is first  # confirmations go through the first
    assert dict(s.domain_rates) == {"gmail.com": 20, "yahoo.com": 2.5}


def test_a_bad_relay_url_does_not_echo_its_password(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_settings(env(tmp_path, SMTP_URL="smtp://user:hunter2@relay.example.org?rate=x"))
    assert "hunter2" not in str(info.value) and "***" in str(info.value)


def test_smtps_defaults_to_port_465():
    target = parse_smtp_url("smtps://relay.example.org")
    assert (target.port, target.implicit_tls) == (465, True)


def test_delivery_engine_settings(tmp_path):
    s = load_settings(env(tmp_path, RETRY_DELAYS="5, 10,20", PAUSE_FAILURE_RATE="0.1"))
    assert s.retry_delays == (5, 10, 20) and s.pause_failure_rate == 0.1
    default = load_settings(env(tmp_path))
    assert default.retry_delays == (30, 60, 300, 900, 3600)
    assert (default.claim_lease, default.stall_after, default.smtp_timeout) == (15, 120, 30.0)


def test_ses_topic_arns_are_a_list_and_empty_by_default(tmp_path):
    assert load_settings(env(tmp_path)).ses_topic_arns == ()
    one = "arn:aws:sns:eu-west-1:123456789012:broadsheet-ses"
    two = "arn:aws-us-gov:sns:us-gov-west-1:210987654321:Bounces_2.fifo"
    s = load_settings(env(tmp_path, SES_TOPIC_ARNS=f" {one} ,{two},{one},"))
    assert s.ses_topic_arns == (one, two)


def test_the_timezone_is_utc_unless_a_known_zone_is_given(tmp_path):
    assert load_settings(env(tmp_path)).timezone == "UTC"
    assert load_settings(env(tmp_path, TIMEZONE=" Europe/Paris ")).timezone == "Europe/Paris"


def test_feed_settings_default_and_are_checked():
    settings = load_settings({"BROADSHEET_INSTANCE": "/tmp/bs-feeds", "SECRET_KEY": "k"})
    assert (settings.feed_urls, settings.feed_poll_seconds, settings.feed_timeout) == (
        (),
        900,
        20.0,
    )
    assert (settings.feed_max_bytes, settings.feed_max_age) == (5 * 1024 * 1024, 2 * 86_400)
    given = load_settings(
        {"BROADSHEET_INSTANCE": "/tmp/bs-feeds", "SECRET_KEY": "k",
         "FEED_URLS": " https://a.example/feed.xml, ,http://b.example/rss,https://a.example/feed.xml"}
    )  # fmt: skip
    assert given.feed_urls == ("https://a.example/feed.xml", "http://b.example/rss")
    with pytest.raises(ConfigError, match="FEED_URLS"):
        load_settings({"BROADSHEET_INSTANCE": "/tmp/bs-feeds", "FEED_URLS": "file:///etc/passwd"})
