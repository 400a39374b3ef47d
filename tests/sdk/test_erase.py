"""Purge over HTTP and embedded: counts per store in the body, the verification scan, isolation."""

from __future__ import annotations

import uuid

from api.live import Live

from memsvc.index.ids import decode_key
from memsvc.memory import Memory
from memsvc.sdk import MemoryClient


def _indexed(live: Live, namespace: str) -> set[str]:
    idx = live.service.indexes.get(live.service.namespace_id(namespace))
    return {str(decode_key(int(k))) for k in idx.sparse.keys().tolist()}


def test_client_erase_purges_a_user_and_reports_counts(client: MemoryClient, live: Live) -> None:
    gone, kept = f"u-{uuid.uuid4().hex[:8]}", f"u-{uuid.uuid4().hex[:8]}"
    erased = client.add("My locker code is glimmerfox77", user_id=gone).events
    client.add("I collect blue teapots from Kyoto", user_id=kept)
    counts = client.erase(user_id=gone, verify=True)
    assert counts["deleted_event"] == 1 and counts["memories"] == 1
    assert counts["verify"]["clean"] and counts["verify"]["probe_words"] >= 2
    assert counts["embedding_cache"] >= 1 and counts["index_terms_dropped"] >= 1
    held = _indexed(live, "sdk")
    assert erased[0].id not in held
    assert not client.search("locker code glimmerfox77", user_id=gone).hits
    assert client.search("blue teapots Kyoto", user_id=kept).hits
    assert client.delete_all(user_id=kept, purge=True) == 1


def test_embedded_erase_matches_the_client(live: Live) -> None:
    memory = Memory(service=live.service, namespace="embedded-erase")
    memory.add("My locker code is glimmerfox78", user_id="ann")
    counts = memory.erase(user_id="ann", verify=True)
    assert counts["deleted_event"] == 1 and counts["verify"]["clean"]
