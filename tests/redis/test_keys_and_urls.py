"""Key derivation (no secret in any key, one Cluster slot) and URL masking."""

from __future__ import annotations

from smsbridge.redis import account_id, mask_url
from smsbridge.redis.keys import LimiterKeys

TOKEN = "tok_live_9f8e7d6c5b4a"


def test_the_account_id_is_stable_and_reveals_neither_account_nor_token() -> None:
    ident = account_id("textus", "acme", TOKEN)
    assert ident == account_id("textus", "acme", TOKEN)
    assert TOKEN not in ident and "acme" not in ident and len(ident) == 32
    assert ident != account_id("textus", "acme", TOKEN + "x")
    assert ident != account_id("trackdrive", "acme", TOKEN)


def test_every_limiter_key_shares_one_hash_tag() -> None:
    keys = LimiterKeys(account_id("textus", "acme", TOKEN))
    tags = {key[key.index("{"):key.index("}") + 1] for key in [*keys.all, keys.channel]}
    assert len(tags) == 1
    assert all(TOKEN not in key for key in keys.all)


def test_mask_url_hides_passwords_and_lone_user_parts() -> None:
    assert mask_url("redis://:pw@host:6379/0") == "redis://:***@host:6379/0"
    assert mask_url("redis://user:pw@host/1") == "redis://user:***@host/1"
    assert mask_url("rediss://sekrit@[::1]:6380") == "rediss://***@[::1]:6380"
    assert mask_url("redis://localhost:6379/0") == "redis://localhost:6379/0"
