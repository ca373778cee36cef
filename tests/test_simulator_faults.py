"""The simulated gateway's injected faults, and fleet changes while it serves."""

from __future__ import annotations

import random
import time
from typing import Any

import httpx
import pytest

from exporter.simulator import (
    GOLDEN_PUBLIC_KEY,
    Account,
    Bucket,
    Fault,
    Fleet,
    Simulator,
    golden_fleet,
)
from tests.support.gateway import GOLDEN_BJ2, LIST, TLS, listing, names, post, signed

# --- faults ----------------------------------------------------------------------------------


@pytest.mark.e2e
def test_fault_retcode_and_times(client: httpx.Client, sim: Simulator) -> None:
    sim.add_fault(Fault(retcode=153, message="throttled", times=2))
    bodies = [post(client, listing(Region="cn-sh2")) for _ in range(3)]
    assert [b["RetCode"] for b in bodies] == [153, 153, 0]
    assert bodies[0] == {"RetCode": 153, "Action": f"{LIST}Response", "Message": "throttled"}


@pytest.mark.e2e
def test_fault_matching_and_clear(client: httpx.Client, sim: Simulator) -> None:
    sim.add_fault(Fault(retcode=150), region="cn-sh2")
    sim.add_fault(Fault(retcode=130), account="someone-else")
    sim.add_fault(Fault(retcode=110), action="GetRegion")
    sim.add_fault(Fault(retcode=999), region="cn-sh2")  # shadowed by the first rule
    assert post(client, listing(Region="cn-sh2"))["RetCode"] == 150
    assert post(client, listing(Region="cn-bj2"))["RetCode"] == 0
    assert post(client, signed({"Action": "GetRegion"}))["RetCode"] == 110
    sim.clear_faults()
    assert post(client, listing(Region="cn-sh2"))["RetCode"] == 0


@pytest.mark.e2e
def test_fault_applies_after_authentication(client: httpx.Client, sim: Simulator) -> None:
    sim.add_fault(Fault(retcode=150, times=1))
    bad = signed({"Action": LIST, "Region": "cn-bj2"}, private_key="wrong")
    assert post(client, bad)["RetCode"] == 171
    assert post(client, listing(Region="cn-bj2"))["RetCode"] == 150  # not used up by the 171
    assert post(client, listing(Region="cn-bj2"))["RetCode"] == 0


@pytest.mark.e2e
def test_fault_delay_applies_even_before_auth(client: httpx.Client, sim: Simulator) -> None:
    sim.add_fault(Fault(delay=0.3))
    started = time.monotonic()
    assert post(client, signed({"Action": LIST}, private_key="wrong"))["RetCode"] == 171
    assert time.monotonic() - started >= 0.3


@pytest.mark.e2e
def test_fault_delay_causes_read_timeout(sim: Simulator) -> None:
    sim.add_fault(Fault(delay=0.5, times=1))
    with httpx.Client(base_url=sim.url, timeout=httpx.Timeout(5, read=0.1), verify=TLS) as http:
        with pytest.raises(httpx.ReadTimeout):
            http.post("/", data=listing(Region="cn-sh2"))
        assert http.post("/", data=listing(Region="cn-sh2")).json()["RetCode"] == 0


@pytest.mark.e2e
def test_fault_http_status(client: httpx.Client, sim: Simulator) -> None:
    sim.add_fault(Fault(http_status=503, times=1))
    sim.add_fault(Fault(http_status=429, retcode=153, message="slow down", times=1))
    text = client.post("/", data=listing(Region="cn-sh2"))
    assert (text.status_code, text.text) == (503, "503 Service Unavailable\n")
    typed = client.post("/", data=listing(Region="cn-sh2"))
    assert typed.status_code == 429
    assert typed.json() == {"RetCode": 153, "Action": f"{LIST}Response", "Message": "slow down"}
    assert client.post("/", data=listing(Region="cn-sh2")).status_code == 200


@pytest.mark.e2e
@pytest.mark.parametrize(
    "raw", [b'{"RetCode": 0, "ImageSet": [', b"\xff\xfe garbage", b"x" * 3_000_000]
)
def test_fault_raw_body(client: httpx.Client, sim: Simulator, raw: bytes) -> None:
    sim.add_fault(Fault(body=raw), action=LIST)
    response = client.post("/", data=listing(Region="cn-sh2"))
    assert (response.status_code, response.content) == (200, raw)
    assert post(client, signed({"Action": "GetRegion"}))["RetCode"] == 0


@pytest.mark.e2e
def test_fault_mutate(client: httpx.Client, sim: Simulator) -> None:
    def lie(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "TotalCount": 999, "ImageSet": body["ImageSet"][:1]}

    sim.add_fault(Fault(mutate=lie))
    body = post(client, listing(Region="cn-sh2"))
    assert (body["TotalCount"], names(body)) == (999, ["golden/alpha"])
    error = post(client, listing())  # error responses are not mutated
    assert error == {"RetCode": 230, "Action": f"{LIST}Response", "Message": error["Message"]}


@pytest.mark.e2e
def test_fault_close_connection(client: httpx.Client, sim: Simulator) -> None:
    sim.add_fault(Fault(close_connection=True, times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/", data=listing(Region="cn-sh2"))
    assert post(client, listing(Region="cn-sh2"))["RetCode"] == 0


def test_fault_validation() -> None:
    with pytest.raises(ValueError):
        Fault(delay=-1)
    with pytest.raises(ValueError):
        Fault(times=-1)


# --- fleet changes while serving -------------------------------------------------------------


@pytest.mark.e2e
def test_add_and_remove_buckets_mid_listing(client: httpx.Client, sim: Simulator) -> None:
    first = post(client, listing(Region="cn-bj2", Limit=3))
    sim.fleet.add_bucket(GOLDEN_PUBLIC_KEY, "cn-bj2", Bucket("new/one", "Private", 1, 1))
    second = post(client, listing(Region="cn-bj2", Limit=3, Offset=3))
    assert second["TotalCount"] == 7
    assert names(second)[0] == names(first)[-1]  # the page shifted: one bucket repeats
    sim.fleet.remove_bucket(GOLDEN_PUBLIC_KEY, "cn-bj2", "new/one")
    sim.fleet.remove_bucket(GOLDEN_PUBLIC_KEY, "cn-bj2", GOLDEN_BJ2[0][0])
    third = post(client, listing(Region="cn-bj2"))
    assert names(third) == [row[0] for row in GOLDEN_BJ2[1:]]
    sim.fleet.add_bucket(GOLDEN_PUBLIC_KEY, "hk", Bucket("hk/a", "Public", 2, 3), index=5)
    assert names(post(client, listing(Region="hk"))) == ["hk/a"]
    with pytest.raises(KeyError):
        sim.fleet.remove_bucket(GOLDEN_PUBLIC_KEY, "cn-bj2", "absent")
    with pytest.raises(KeyError):
        sim.fleet.add_bucket("nobody", "cn-bj2", Bucket("x", "Private", 0, 0))


@pytest.mark.e2e
def test_drift_only_on_first_page() -> None:
    with Simulator(golden_fleet(), drift=True, seed=3) as simulator:
        fleet = simulator.fleet
        with httpx.Client(base_url=simulator.url, verify=TLS) as http:

            def total() -> int:
                return sum(b.image_count for b in fleet.buckets(GOLDEN_PUBLIC_KEY, "cn-bj2"))

            before = total()
            for _ in range(3):
                post(http, listing(Region="cn-bj2", Offset=2))
            assert total() == before
            for _ in range(3):
                post(http, listing(Region="cn-bj2"))
            assert total() != before


def test_drift_never_negative_and_mostly_up() -> None:
    live = [Bucket(f"b{i}", "Private", 0, 0) for i in range(5)]
    fleet = Fleet([Account("k", "s", set(), {"r": live})])
    rng = random.Random(1)
    ups = downs = 0
    for start in [0] * 100 + [10] * 100:
        for bucket in live:
            bucket.image_count = start
        fleet.drift(rng)
        counts = [b.image_count for b in fleet.buckets("k", "r")]
        assert min(counts) >= 0
        ups += sum(c > start for c in counts)
        downs += sum(c < start for c in counts)
    assert downs > 0
    assert ups > 5 * downs  # mostly up, rarely down
