"""Use cases IssueIngestKey and RevokeKey over the in-memory key repository."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analytics.adapters.in_memory import InMemoryKeyRepository
from analytics.adapters.system import Sha256KeyHasher
from analytics.application.access import IssueIngestKey, RevokeKey
from analytics.application.errors import KeyNotFound, ReadNotAllowed, UnknownKey
from analytics.application.keys import AuthenticateKey, GenerateKey, IssuedKey
from analytics.domain.keys import ApiKey, KeyScope

NOW = datetime(2024, 2, 7, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


class Keys:
    """The key use cases over one in-memory repository."""

    def __init__(self) -> None:
        self.repository = InMemoryKeyRepository()
        self.generate = GenerateKey(self.repository, Sha256KeyHasher(), FixedClock())
        self.issue_ingest = IssueIngestKey(self.generate)
        self.revoke = RevokeKey(self.repository)
        self.authenticate = AuthenticateKey(self.repository, Sha256KeyHasher())

    def full(self) -> ApiKey:
        return self.stored(self.generate.execute())

    def ingest_of(self, owner: ApiKey) -> ApiKey:
        return self.stored(self.issue_ingest.execute(owner))

    def stored(self, issued: IssuedKey) -> ApiKey:
        return self.authenticate.execute(issued.api_key)

    def is_revoked(self, key: ApiKey) -> bool:
        stored = self.repository.get(key.key_id)
        assert stored is not None
        return stored.revoked


@pytest.fixture
def keys() -> Keys:
    return Keys()


def test_an_ingest_key_belongs_to_the_full_key_that_issued_it(keys: Keys) -> None:
    owner = keys.full()

    ingest = keys.ingest_of(owner)

    assert ingest.scope is KeyScope.INGEST
    assert ingest.owner_id == owner.key_id
    assert not ingest.can_read


def test_an_ingest_key_cannot_issue_keys(keys: Keys) -> None:
    ingest = keys.ingest_of(keys.full())

    with pytest.raises(ReadNotAllowed):
        keys.issue_ingest.execute(ingest)


def test_revoking_an_ingest_key_leaves_its_owner_working(keys: Keys) -> None:
    owner = keys.full()
    ingest, sibling = keys.ingest_of(owner), keys.ingest_of(owner)

    keys.revoke.execute(owner, ingest.key_id)

    assert keys.is_revoked(ingest)
    assert not keys.is_revoked(sibling)
    assert not keys.is_revoked(owner)


def test_a_revoked_key_no_longer_authenticates(keys: Keys) -> None:
    issued = keys.generate.execute()
    owner = keys.stored(issued)

    keys.revoke.execute(owner, owner.key_id)

    with pytest.raises(UnknownKey):
        keys.authenticate.execute(issued.api_key)


def test_revoking_a_full_key_revokes_its_ingest_keys_and_no_others(keys: Keys) -> None:
    owner, other = keys.full(), keys.full()
    ingest, others_ingest = keys.ingest_of(owner), keys.ingest_of(other)

    keys.revoke.execute(owner, owner.key_id)

    assert keys.is_revoked(owner)
    assert keys.is_revoked(ingest)
    assert not keys.is_revoked(other)
    assert not keys.is_revoked(others_ingest)


def test_another_owners_key_is_not_found_and_stays_valid(keys: Keys) -> None:
    owner, other = keys.full(), keys.full()
    others_ingest = keys.ingest_of(other)

    for target in (other, others_ingest):
        with pytest.raises(KeyNotFound):
            keys.revoke.execute(owner, target.key_id)
        assert not keys.is_revoked(target)


def test_an_unknown_key_id_is_not_found(keys: Keys) -> None:
    with pytest.raises(KeyNotFound):
        keys.revoke.execute(keys.full(), "000000000000")


def test_an_ingest_key_cannot_revoke_even_itself(keys: Keys) -> None:
    owner = keys.full()
    ingest = keys.ingest_of(owner)

    for target in (ingest, owner):
        with pytest.raises(ReadNotAllowed):
            keys.revoke.execute(ingest, target.key_id)
        assert not keys.is_revoked(target)
