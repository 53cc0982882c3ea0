"""`python -m bench flood`: its options, its report beside the goal, and a small real run (the
flooder is refused with 429s, the clients are not, no server errors). The figures come from
running it by hand."""

from __future__ import annotations

import pytest

from bench import load
from bench.__main__ import build_parser


def test_flood_options_and_defaults() -> None:
    a = build_parser().parse_args(["flood", "--checkpoint", "c"])
    assert (a.clients, a.requests, a.flood_rate, a.flood_connections, a.rate, a.burst, a.rounds) == \
        (16, 50, 50.0, 2, None, None, 10)
    a = build_parser().parse_args(["flood", "--checkpoint", "c", "--rate", "3", "--burst", "4", "--rounds", "2"])
    assert (a.rate, a.burst, a.rounds) == (3.0, 4, 2)


def phase(p95: float, errors: int = 0) -> dict:
    return {"clients": 16, "requests_each": 50, "p50_ms": p95 / 2, "p95_ms": p95, "errors": errors,
            "server_errors": 0, "wall_s": 10.0, "server_cpu_ms_per_client_request": 12.0,
            "server_cpu_share": 0.5, "flooder_cpu_share": 0.01}


def result(quiet: float, flood: float, refused: int = 100, met: bool = True) -> dict:
    return {"checkpoint": "mnist-dcgan", "limit": {"rate_per_s": 10.0, "burst": 20}, "rounds": 2,
            "quiet": phase(quiet), "flood": phase(flood), "p95_ms_per_round": {"quiet": [quiet], "flood": [flood]},
            "flooder": {"rate_per_s": 50.0, "connections": 2, "accepted": 30, "refused_429": refused,
                        "other_errors": 0, "server_errors": 0},
            "p95_ratio": round(flood / quiet, 3), "p95_ratio_goal": load.P95_RATIO_GOAL, "server_errors": 0,
            "met": met}


def test_the_report_gives_the_ratio_beside_its_goal() -> None:
    text = load.flood_report(result(100.0, 120.0))
    assert "p95 with / without the flood: 1.2x (goal <= 1.5x); server errors 0 (goal 0): met" in text
    assert "refused with 429 100" in text and "server CPU 12.0 ms per client request" in text
    assert text.endswith("met") and "NOT" not in load.flood_report(result(100.0, 120.0))
    assert "NOT met" in load.flood_report(result(100.0, 200.0, met=False))


@pytest.mark.slow
def test_a_small_flood_is_refused_and_the_clients_are_not() -> None:
    r = load.flood("mnist-dcgan", clients=2, requests=4, flood_rate=40.0, flood_connections=1, rounds=1)
    assert r["quiet"]["errors"] == 0 and r["flood"]["errors"] == 0 and r["server_errors"] == 0
    assert r["flooder"]["refused_429"] > 0 and r["flooder"]["other_errors"] == 0
    assert r["quiet"]["n"] == r["flood"]["n"] == 8 and r["p95_ratio"] is not None
