"""Sign-in throttling: which failed attempts count against whom, and when an attempt is refused.

Only failed sign-ins count, in three kinds of counter (limits in crm/config.py):
- per account *and* source (5/minute, 20/hour): stops guessing one account from one place, and
  touches nobody else;
- per account from anywhere (100/hour): guesses spread over many addresses;
- per address (20 per 10 minutes): one machine trying many accounts (password spraying).
The source is the client's address (its real one behind a proxy: TRUSTED_PROXIES), or, for a browser
that has signed in to that account before, the browser itself: a signed device cookie (OWASP's
"device cookies"). Such a browser is not subject to the last two limits. So an attacker flooding
from an address, even one the office shares (a NAT, a proxy that is not declared), or a botnet
guessing at an account, cannot lock people out of the browsers they use: only browsers that have
never signed in to the account wait, and only while that address (or account) is over its limit.
Unknown and existing accounts are counted alike, so a refusal never tells whether an account exists.

Counting is in the limiter's storage, which every worker shares (crm/ratelimit.py). Attempts that run
at the same moment are each checked before any is counted, so a limit can be passed by at most the
number of requests served at once (gunicorn's workers × threads).
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import secrets
import time
from dataclasses import dataclass

from flask import current_app, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse_many

from crm.extensions import limiter

log = logging.getLogger("crm.auth")

DEVICE_COOKIE = "crm_device"
DEVICE_COOKIE_DAYS = 180
# Accounts one browser vouches for (a shared office computer signs in as several people).
DEVICE_ACCOUNTS = 20


def _account(email: str) -> str:
    """An account's name in counters and cookies: a digest, so neither holds addresses of people."""
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def _address() -> str:
    """The client's address as throttling counts it: an IPv6 client by its /64, the block one
    household or machine is given (it can choose any address inside it)."""
    address = request.remote_addr or "unknown"
    if "X-Forwarded-For" in request.headers and not current_app.config["TRUSTED_PROXIES"] and not _warned:
        _warned.append(True)
        log.warning("requests carry X-Forwarded-For, which is ignored: if a reverse proxy sends it, set "
                    "CRM_TRUSTED_PROXIES, or every user counts as the proxy's address")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


_warned: list[bool] = []  # the warning above, once per process

# Public: other throttles (crm/selfservice) count clients the same way.
client_address = _address


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="crm-sign-in-device")


def _device_cookie() -> dict | None:
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return None
    try:
        device = _serializer().loads(value, max_age=DEVICE_COOKIE_DAYS * 86400)
    except BadSignature:
        return None
    if not isinstance(device, dict) or not isinstance(device.get("id"), str) or not isinstance(device.get("accounts"), list):
        return None
    return device


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt: the account it names, where it comes from, and its counters."""

    account: str
    address: str
    device: str | None  # this browser's id when it has signed in to this account before

    @classmethod
    def from_request(cls, email: str) -> Attempt:
        account = _account(email)
        device = _device_cookie()
        trusted = device["id"] if device and account in device["accounts"] else None
        return cls(account=account, address=_address(), device=trusted)

    def counters(self) -> list[tuple[str, str]]:
        """(limits, key) of every counter this attempt is checked against and, if it fails, counts in."""
        config = current_app.config
        source = f"device:{self.device}" if self.device else f"ip:{self.address}"
        counters = [(config["LOGIN_LIMIT_PER_ACCOUNT_AND_IP"], f"login/account-source/{self.account}/{source}")]
        if not self.device:
            counters += [
                (config["LOGIN_LIMIT_PER_ACCOUNT"], f"login/account/{self.account}"),
                (config["LOGIN_LIMIT_PER_IP"], f"login/address/{self.address}"),
            ]
        return [(item, key) for spec, key in counters for item in parse_many(spec)]

    def wait_seconds(self) -> int:
        """0 when the attempt may go ahead, else the seconds until the first full counter resets."""
        if not limiter.enabled:  # RATELIMIT_ENABLED = False: the limiter opened no storage
            return 0
        strategy = limiter.limiter
        resets = [strategy.get_window_stats(item, key).reset_time
                  for item, key in self.counters() if not strategy.test(item, key)]
        return max(1, math.ceil(min(resets) - time.time())) if resets else 0

    def count_failure(self) -> None:
        if not limiter.enabled:
            return
        for item, key in self.counters():
            limiter.limiter.hit(item, key)


def remember_device(response, email: str) -> None:
    """After a successful sign-in: this browser vouches for the account from now on."""
    device = _device_cookie() or {"id": secrets.token_urlsafe(16), "accounts": []}
    account = _account(email)
    accounts = [account, *(known for known in device["accounts"] if known != account)][:DEVICE_ACCOUNTS]
    response.set_cookie(
        DEVICE_COOKIE,
        _serializer().dumps({"id": device["id"], "accounts": accounts}),
        max_age=DEVICE_COOKIE_DAYS * 86400,
        path=url_for("auth.login"),
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
