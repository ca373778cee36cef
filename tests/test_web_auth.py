"""Basic auth in process: the bcrypt result cache and the dummy hash's cost."""

from __future__ import annotations

import time

import bcrypt

from exporter.web.auth import BasicAuth


def test_every_result_is_cached_by_user_hash_and_password():
    calls: list[tuple[bytes, bytes]] = []

    def check(password: bytes, hashed: bytes) -> bool:
        calls.append((password, hashed))
        return hashed == b"H-alice" and password == b"right"

    auth = BasicAuth({"alice": b"H-alice"}, dummy=b"H-dummy", check=check)
    assert not auth.verify("mallory", b"right")
    assert calls == [(b"right", b"H-dummy")]  # unknown user: a real check all the same
    assert not auth.verify("alice", b"wrong")
    assert auth.verify("alice", b"right")
    assert calls[1:] == [(b"wrong", b"H-alice"), (b"right", b"H-alice")]
    for _ in range(3):  # repeated attempts, good or bad, cost no bcrypt
        assert auth.verify("alice", b"right")
        assert not auth.verify("alice", b"wrong")
        assert not auth.verify("mallory", b"right")
    assert len(calls) == 3
    assert auth.cached("alice", b"right") is True and auth.cached("alice", b"wrong") is False
    assert auth.cached("alice", b"other") is None and len(calls) == 3
    changed = BasicAuth({"alice": b"H-new"}, dummy=b"H-dummy", check=check)
    assert changed.cached("alice", b"right") is None  # a new hash is a new key
    assert auth.authorized("Basic " + base64("alice:right"))
    assert not auth.authorized("Basic " + base64("alice"))
    assert not auth.authorized("Digest " + base64("alice:right"))


def test_failed_attempts_never_evict_a_valid_user():
    calls: list[bytes] = []

    def check(password: bytes, hashed: bytes) -> bool:
        calls.append(password)
        return password == b"right"

    auth = BasicAuth({"alice": b"H"}, dummy=b"D", check=check)
    assert auth.verify("alice", b"right")
    for i in range(10_000):
        assert not auth.verify(f"u{i}", b"x")
    assert auth.cached("alice", b"right") is True


def base64(text: str) -> str:
    import base64 as b64

    return b64.b64encode(text.encode()).decode()


def test_dummy_hash_has_cost_10_whatever_the_users_cost():
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=5)).decode()
    seen: list[bytes] = []

    def check(password: bytes, hashed: bytes) -> bool:
        seen.append(hashed)
        return False

    auth = BasicAuth.for_users({"alice": hashed}, check=check)
    assert not auth.verify("mallory", b"pw")
    assert seen[0].startswith(b"$2b$10$") and seen[0] != hashed.encode()
    assert bcrypt.checkpw(b"pw", hashed.encode()) and not BasicAuth.for_users(
        {"alice": hashed}
    ).verify("alice", b"x" * 100)  # over 72 bytes: refused, no error


def test_unknown_user_costs_a_cost_10_check_with_a_cost_14_user():
    slow = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=14)).decode()
    auth = BasicAuth.for_users({"alice": slow})
    ten = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=10))
    start = time.monotonic()
    bcrypt.checkpw(b"nope", ten)
    reference = time.monotonic() - start
    start = time.monotonic()
    assert not auth.verify("mallory", b"pw")
    unknown = time.monotonic() - start
    assert unknown < 4 * reference + 0.05, (unknown, reference)  # cost 14 is 16x cost 10
