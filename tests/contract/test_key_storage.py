from dataclasses import replace

from analytics.domain.keys import ApiKey, KeyScope
from tests.builders import T0
from tests.contract.backends import Backend

KEY = ApiKey(
    key_id="k1",
    key_hash="a" * 64,
    scope=KeyScope.INGEST,
    created_at=T0.replace(microsecond=123456),
    owner_id="owner-1",
)


def test_a_stored_key_comes_back_with_every_field(backend: Backend) -> None:
    backend.keys.add(KEY)
    stored = backend.keys.get("k1")
    assert stored == KEY
    assert stored is not None and stored.created_at.utcoffset() is not None


def test_an_unknown_key_id_finds_nothing(backend: Backend) -> None:
    backend.keys.add(KEY)
    assert backend.keys.get("k2") is None


def test_adding_a_key_again_replaces_it(backend: Backend) -> None:
    backend.keys.add(KEY)
    backend.keys.add(replace(KEY, revoked=True))
    stored = backend.keys.get("k1")
    assert stored is not None and stored.revoked
