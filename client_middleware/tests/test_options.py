"""Settings: explicit values, the environment, `.env`; bad values refused at construction."""

from __future__ import annotations

import logging

import pytest

from client_middleware.exclusion import excluded_paths, route_path
from client_middleware.options import resolve_options


def test_explicit_values_win(monkeypatch):
    monkeypatch.setenv("API_BASE", "http://from-env")

    options = resolve_options("key", "http://explicit/")

    assert (options.api_key, options.api_base, options.enabled) == ("key", "http://explicit", True)


def test_api_base_comes_from_the_environment_as_in_the_seed(monkeypatch):
    monkeypatch.setenv("API_BASE", "http://from-env:8000")

    assert resolve_options("key").api_base == "http://from-env:8000"


def test_api_base_comes_from_a_dotenv_file(monkeypatch, tmp_path):
    monkeypatch.delenv("API_BASE", raising=False)
    (tmp_path / ".env").write_text("API_BASE=http://from-dotenv:9000\n")
    monkeypatch.chdir(tmp_path)

    assert resolve_options("key").api_base == "http://from-dotenv:9000"


def test_reading_dotenv_does_not_change_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("API_BASE", raising=False)
    (tmp_path / ".env").write_text("API_BASE=http://from-dotenv:9000\n")
    monkeypatch.chdir(tmp_path)

    resolve_options("key")

    import os

    assert "API_BASE" not in os.environ


def test_missing_settings_switch_tracking_off_with_a_warning(monkeypatch, tmp_path, caplog):
    monkeypatch.delenv("API_BASE", raising=False)
    monkeypatch.delenv("ANALYTICS_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)

    with caplog.at_level(logging.WARNING, logger="client_middleware"):
        options = resolve_options("key")

    assert options.enabled is False
    assert "api_base" in caplog.text


@pytest.mark.parametrize(
    "bad",
    [
        {"batch_size": 0},
        {"max_queue": 0},
        {"flush_interval": 0},
        {"timeout": -1},
        {"ip_privacy": "partial"},
        {"consumer": "not callable"},
        {"trusted_proxies": ["not-a-network"]},
    ],
)
def test_bad_values_are_refused_at_construction(bad):
    with pytest.raises(ValueError):
        resolve_options("key", "http://x", **bad)


def test_an_api_base_that_is_not_an_http_url_is_refused_at_construction():
    with pytest.raises(ValueError, match="api_base"):
        resolve_options("key", "analytics.example:8000")


def test_trusted_proxies_are_parsed_as_networks():
    options = resolve_options("key", "http://x", trusted_proxies=["10.0.0.0/8", "::1"])

    assert [str(network) for network in options.trusted_proxies] == ["10.0.0.0/8", "::1/128"]


def test_exclusion_patterns_are_globs_on_the_path_below_root_path():
    is_excluded = excluded_paths(["/health", "/static/*"])

    assert is_excluded is not None
    assert is_excluded(route_path("/health", ""))
    assert is_excluded(route_path("/api/static/css/site.css", "/api"))
    assert not is_excluded(route_path("/healthz", ""))
    assert not is_excluded(route_path("/items/1", ""))
    assert excluded_paths([]) is None
