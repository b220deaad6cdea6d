"""Reading a legacy Redis batch by batch: every type the bots left, in the order SCAN gave the keys."""

from __future__ import annotations

from typing import Any

from positions.legacy import reading


def test_a_batch_of_every_type_reads_back_in_its_order_without_the_keys_gone(redis_client: Any) -> None:
    redis_client.hset("user:1:position:BTC-USDT-SWAP:long", mapping={"size": "1.0"})
    redis_client.set("user:2:position:ETH-USDT-SWAP:long", '{"size": "2.0"}')
    redis_client.rpush("user:1:open_orders", '{"order_id": "1"}', '{"order_id": "2"}')
    redis_client.sadd("positions:index:7:okx", "BTC-USDT-SWAP:long")
    redis_client.zadd("user:3:position:zset", {"a": 1})
    redis_client.hset("user:4:position:SOL-USDT-SWAP:short", mapping={"size": "4.0"})
    batch = ["user:2:position:ETH-USDT-SWAP:long", "user:1:position:BTC-USDT-SWAP:long", "user:9:position:gone",
             "user:1:open_orders", "user:3:position:zset", "positions:index:7:okx",
             "user:4:position:SOL-USDT-SWAP:short"]  # fmt: skip

    records = reading.read(redis_client, batch)

    assert [(record.key, record.redis_type, record.value) for record in records] == [
        ("user:2:position:ETH-USDT-SWAP:long", "string", '{"size": "2.0"}'),
        ("user:1:position:BTC-USDT-SWAP:long", "hash", {"size": "1.0"}),
        ("user:1:open_orders", "list", ['{"order_id": "1"}', '{"order_id": "2"}']),
        ("user:3:position:zset", "zset", None),  # a type no legacy bot writes: reported by its reader
        ("positions:index:7:okx", "set", {"BTC-USDT-SWAP:long"}),
        ("user:4:position:SOL-USDT-SWAP:short", "hash", {"size": "4.0"}),
    ]


def test_batches_stream_in_the_size_asked_for() -> None:
    assert list(reading.batched(iter(range(5)), 2)) == [[0, 1], [2, 3], [4]]
