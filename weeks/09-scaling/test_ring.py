"""Lab scaling/consistent-hashing — a hash ring with virtual nodes, measured on 100,000 keys."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections import Counter

import pytest

from labs.week09_scaling.ring import HashRing, modulo_node

LESSON = "weeks/09-scaling/README.md, section 'Consistent hashing'"
KEYS = [f"user:{n}" for n in range(100_000)]


def placement(ring: HashRing, keys: list[str]) -> list[str]:
    return [ring.node_for(key) for key in keys]


def test_an_empty_ring_has_no_owner() -> None:
    ring = HashRing()
    with pytest.raises(LookupError):
        ring.node_for("user:1")


def test_every_key_has_one_owner_among_the_nodes() -> None:
    nodes = ["cache-a", "cache-b", "cache-c"]
    ring = HashRing(nodes)
    ring.add("cache-a")  # twice: no change
    owners = placement(ring, KEYS[:3000])

    assert ring.nodes == nodes, f"expected ring.nodes == {nodes} (sorted, each once); got {ring.nodes}"
    strangers = set(owners) - set(nodes)
    assert not strangers, f"expected every owner to be one of {nodes}; got {sorted(strangers)[:3]}"
    assert owners == placement(ring, KEYS[:3000]), "expected the same key to map to the same node every time"
    assert set(owners) == set(nodes), (
        f"expected 3,000 keys to reach all three nodes; only {sorted(set(owners))} got any. "
        f"See {LESSON}.")


def test_the_mapping_is_the_same_in_every_process() -> None:
    nodes = ["cache-a", "cache-b", "cache-c", "cache-d"]
    keys = KEYS[:300]
    here = placement(HashRing(nodes), keys)
    script = ("import json, sys\nfrom labs.week09_scaling.ring import HashRing\n"
              f"ring = HashRing({nodes!r})\n"
              f"print(json.dumps([ring.node_for(k) for k in {keys!r}]))\n")
    elsewhere = []
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                              env=os.environ | {"PYTHONHASHSEED": seed})
        assert done.returncode == 0, f"the ring failed in a fresh process:\n{done.stderr[-1500:]}"
        elsewhere.append(json.loads(done.stdout))
    differ = sum(a != b for a, b in zip(here, elsewhere[0], strict=True))
    differ += sum(a != b for a, b in zip(elsewhere[0], elsewhere[1], strict=True))
    assert differ == 0, (
        f"expected every process to place the 300 keys the same way; {differ} placements differ between "
        "processes with other PYTHONHASHSEEDs. Python's hash() of a string is salted per process — two app "
        f"servers would disagree about every key. Use hash64 (blake2b). See {LESSON}.")


def test_a_join_moves_about_one_in_n_plus_one() -> None:
    nodes = [f"cache-{n}" for n in range(4)]
    ring = HashRing(nodes)
    before = placement(ring, KEYS)
    ring.add("cache-4")
    after = placement(ring, KEYS)

    moved = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    share = len(moved) / len(KEYS)
    modulo_moved = sum(modulo_node(k, nodes) != modulo_node(k, [*nodes, "cache-4"]) for k in KEYS) / len(KEYS)
    assert 0.6 / 5 <= share <= 1.4 / 5, (
        f"expected adding a 5th node to move about 1/5 of 100,000 keys (12–28 %); the ring moved "
        f"{share:.1%} (hash % N moves {modulo_moved:.1%}). See {LESSON}.")
    elsewhere = Counter(new for _, new in moved if new != "cache-4")
    assert not elsewhere, (
        f"expected every moved key to move to the new node; {sum(elsewhere.values())} moved between old "
        f"nodes ({dict(elsewhere)}) — that is a cache miss the join did not need to cause")


def test_a_leave_moves_only_the_leavers_keys() -> None:
    ring = HashRing([f"cache-{n}" for n in range(5)])
    keys = KEYS[:20_000]
    before = placement(ring, keys)
    ring.remove("cache-2")
    after = placement(ring, keys)

    assert "cache-2" not in after and ring.nodes == ["cache-0", "cache-1", "cache-3", "cache-4"], (
        f"expected cache-2 to be gone from the ring; ring.nodes = {ring.nodes}")
    needless = sum(old != new for old, new in zip(before, after, strict=True) if old != "cache-2")
    assert needless == 0, (
        f"expected only cache-2's keys to move when it leaves; {needless} keys of other nodes moved too. "
        f"See {LESSON}.")


def busiest_over_mean(vnodes: int) -> float:
    """Max load / mean load on 20,000 keys, averaged over 10 five-node clusters with other names."""
    keys = KEYS[:20_000]
    ratios = []
    for cluster in range(10):
        ring = HashRing([f"c{cluster}-node-{n}" for n in range(5)], vnodes=vnodes)
        load = Counter(placement(ring, keys))
        ratios.append(max(load.values()) / (len(keys) / 5))
    return statistics.mean(ratios)


def test_virtual_nodes_keep_the_spread_within_bound() -> None:
    with_vnodes, without = busiest_over_mean(100), busiest_over_mean(1)

    assert with_vnodes <= 1.2, (
        f"expected the busiest of 5 nodes to hold at most 1.2x the mean load with vnodes=100; got "
        f"{with_vnodes:.2f}x (with vnodes=1: {without:.2f}x). Is every node placed at `vnodes` points? "
        f"See {LESSON}.")
    assert without >= 1.6, (
        f"expected one point per node (vnodes=1) to spread visibly worse (>= 1.6x the mean); got "
        f"{without:.2f}x — does vnodes=1 really place one point per node?")
