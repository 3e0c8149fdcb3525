"""The middleware's settings: explicit arguments first, then the environment, then `.env`."""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

logger = logging.getLogger("client_middleware")

IpPrivacy = Literal["full", "anonymized", "none"]
IP_PRIVACY_CHOICES: tuple[str, ...] = ("full", "anonymized", "none")
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
ConsumerCallback = Callable[[Any], "str | None"]

# Environment variable names. API_BASE is the seed's name and stays the one users set.
API_BASE_VARIABLE = "API_BASE"
API_KEY_VARIABLE = "ANALYTICS_API_KEY"


@dataclass(frozen=True, slots=True)
class TrackingOptions:
    """Everything the recorder and the sender need; validated once, at construction."""

    api_key: str
    api_base: str
    exclude_paths: tuple[str, ...] = ()
    batch_size: int = 500
    flush_interval: float = 5.0
    max_queue: int = 10_000
    timeout: float = 5.0
    shutdown_timeout: float = 5.0
    ip_privacy: IpPrivacy = "full"
    trusted_proxies: tuple[IpNetwork, ...] = ()
    consumer: ConsumerCallback | None = None
    enabled: bool = True
    # Retry pacing: the first retry waits about `retry_base_delay`, then twice as long each
    # time, never more than `max_retry_delay` (a Retry-After header may ask for longer).
    retry_base_delay: float = 0.5
    max_retry_delay: float = 30.0
    # Bodies are split before they grow past this, well under the server's 2 MB default.
    max_body_bytes: int = 1_000_000

    def __post_init__(self) -> None:
        _require(self.batch_size >= 1, "batch_size must be at least 1")
        _require(self.max_queue >= 1, "max_queue must be at least 1")
        _require(self.flush_interval > 0, "flush_interval must be positive")
        _require(self.timeout > 0, "timeout must be positive")
        _require(self.shutdown_timeout >= 0, "shutdown_timeout must not be negative")
        _require(
            self.ip_privacy in IP_PRIVACY_CHOICES, f"ip_privacy must be one of {IP_PRIVACY_CHOICES}"
        )
        _require(self.retry_base_delay > 0, "retry_base_delay must be positive")
        _require(
            self.max_retry_delay >= self.retry_base_delay, "max_retry_delay < retry_base_delay"
        )
        _require(self.max_body_bytes >= 1024, "max_body_bytes must be at least 1024")
        _require(self.consumer is None or callable(self.consumer), "consumer must be callable")
        _require(
            not self.enabled or self.api_base.startswith(("http://", "https://")),
            "api_base must be an http:// or https:// URL",
        )


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def resolve_options(
    api_key: str | None = None,
    api_base: str | None = None,
    *,
    exclude_paths: Iterable[str] = (),
    trusted_proxies: Iterable[str] = (),
    enabled: bool = True,
    **settings: Any,
) -> TrackingOptions:
    """Build the options, reading `api_key`/`api_base` from the environment or `.env` when absent.

    A missing key or base URL does not break the host app: tracking is switched off with one
    warning, so an app started without its analytics settings (tests, a local run) still serves.
    """
    api_key = api_key or setting_from_environment(API_KEY_VARIABLE)
    api_base = api_base or setting_from_environment(API_BASE_VARIABLE)
    if enabled and not (api_key and api_base):
        missing = "api_key" if not api_key else f"api_base (or {API_BASE_VARIABLE})"
        logger.warning("analytics tracking is off: %s is not set", missing)
        enabled = False
    return TrackingOptions(
        api_key=api_key or "",
        api_base=(api_base or "").rstrip("/"),
        exclude_paths=tuple(exclude_paths),
        trusted_proxies=tuple(ipaddress.ip_network(cidr, strict=False) for cidr in trusted_proxies),
        enabled=enabled,
        **settings,
    )


def setting_from_environment(name: str) -> str | None:
    """The variable from the process environment, else from a `.env` file (python-dotenv)."""
    value = os.environ.get(name)
    if value:
        return value
    return _dotenv_values().get(name) or None


def _dotenv_values() -> dict[str, str | None]:
    try:
        from dotenv import dotenv_values, find_dotenv
    except ImportError:  # python-dotenv is optional
        return {}
    # Read, never load: the host app's environment is not ours to change.
    return dict(dotenv_values(find_dotenv(usecwd=True)))
