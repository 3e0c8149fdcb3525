from datetime import UTC, datetime

import pytest

from analytics.adapters.in_memory import InMemoryKeyRepository
from analytics.adapters.system import Sha256KeyHasher
from analytics.application.errors import UnknownKey
from analytics.application.keys import AuthenticateKey, GenerateKey
from analytics.domain.keys import KeyScope, parse_key_id

NOW = datetime(2024, 2, 7, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def keys() -> InMemoryKeyRepository:
    return InMemoryKeyRepository()


def generate(keys: InMemoryKeyRepository, **kwargs) -> str:
    return GenerateKey(keys, Sha256KeyHasher(), FixedClock()).execute(**kwargs).api_key


def test_a_generated_key_is_stored_only_as_its_hash(keys: InMemoryKeyRepository) -> None:
    api_key = generate(keys)
    stored = keys.get(parse_key_id(api_key) or "")
    assert stored is not None
    assert api_key not in repr(stored)
    assert stored.key_hash == Sha256KeyHasher().hash(api_key)
    assert stored.created_at == NOW


def test_generated_keys_are_distinct_and_carry_at_least_128_random_bits(
    keys: InMemoryKeyRepository,
) -> None:
    issued = {generate(keys) for _ in range(50)}
    assert len(issued) == 50
    secret = next(iter(issued)).split("_", 2)[2]
    assert len(secret) * 6 >= 128  # url-safe base64: 6 bits a character


def test_the_presented_key_authenticates_as_itself(keys: InMemoryKeyRepository) -> None:
    api_key = generate(keys)
    key = AuthenticateKey(keys, Sha256KeyHasher()).execute(api_key)
    assert key.key_id == parse_key_id(api_key)
    assert key.owner_id == key.key_id
    assert key.can_read


@pytest.mark.parametrize("presented", [None, "", "nonsense", "ak_", "ak_123_", "ak_abc_secret"])
def test_missing_or_malformed_keys_are_unknown(
    keys: InMemoryKeyRepository, presented: str | None
) -> None:
    generate(keys)
    with pytest.raises(UnknownKey):
        AuthenticateKey(keys, Sha256KeyHasher()).execute(presented)


def test_a_key_with_a_known_id_but_a_wrong_secret_is_unknown(keys: InMemoryKeyRepository) -> None:
    api_key = generate(keys)
    forged = api_key[:-4] + ("AAAA" if not api_key.endswith("AAAA") else "BBBB")
    with pytest.raises(UnknownKey):
        AuthenticateKey(keys, Sha256KeyHasher()).execute(forged)


def test_an_ingest_key_writes_into_its_owners_data_and_cannot_read(
    keys: InMemoryKeyRepository,
) -> None:
    authenticate = AuthenticateKey(keys, Sha256KeyHasher())
    owner = authenticate.execute(generate(keys))
    ingest = authenticate.execute(generate(keys, scope=KeyScope.INGEST, owner=owner))
    assert ingest.owner_id == owner.key_id
    assert not ingest.can_read
