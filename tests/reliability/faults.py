"""Fault schedules for whole conducts, and one fault trial.

Each schedule installs rules on a `FaultProxy` between `lab` and the API server. Scheduled ones
hit chosen requests (by method, path and occurrence); `random` draws every request's fate from
the proxy's seeded RNG, so a seed replays exactly. Transient schedules must end in a pass (the
retry policy absorbs them); the two outages cannot pass and must end in a clear error with a
consistent ledger, after which a fault-free `lab down` leaves nothing.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.reliability.harness import RealTarget, Trial, conduct_args, judge, lab_env, run_lab, tier2, tier3
from tests.support.faultproxy import (
    DropWatch,
    ErrorStatus,
    FaultProxy,
    Latency,
    Reset,
    SlowBody,
    too_many_requests,
)

Schedule = Callable[[FaultProxy, random.Random], None]


def _retry_after(proxy: FaultProxy, _rng: random.Random) -> None:
    proxy.add(too_many_requests(1), method="PATCH", nth=[1, 2, 3], watch=False)
    proxy.add(too_many_requests(1), method="DELETE", nth=[1, 2])


def _server_errors(proxy: FaultProxy, _rng: random.Random) -> None:
    proxy.add(ErrorStatus(500), method="PATCH", nth=[1, 2])
    proxy.add(ErrorStatus(503), method="GET", watch=False, nth=[2, 5, 9, 14])
    proxy.add(ErrorStatus(504), method="DELETE", nth=[1, 3])
    proxy.add(ErrorStatus(503), path=r"/proxy/", nth=[1])


def _resets(proxy: FaultProxy, _rng: random.Random) -> None:
    proxy.add(Reset(), method="GET", watch=False, nth=[3, 7])
    proxy.add(Reset(after_headers=True), method="PATCH", nth=[2, 4])
    proxy.add(Reset(), method="DELETE", nth=[1])


def _slow(proxy: FaultProxy, _rng: random.Random) -> None:
    proxy.add(Latency(0.15, jitter=0.1), nth=range(1, 400, 6))
    proxy.add(SlowBody(chunk_size=128, delay=0.003), method="GET", watch=False)


def _watch_drops(proxy: FaultProxy, _rng: random.Random) -> None:
    proxy.add(DropWatch(after_seconds=0.05, reset=True), watch=True, nth=[1, 2, 3])
    proxy.add(DropWatch(after_events=1), watch=True)


def _watch_errors(proxy: FaultProxy, _rng: random.Random) -> None:
    proxy.add(ErrorStatus(503), watch=True, nth=[1, 2])
    proxy.add(too_many_requests(1), watch=True, nth=[4])
    proxy.add(Reset(), watch=True, nth=[6])


def _apply_outage(proxy: FaultProxy, _rng: random.Random) -> None:
    proxy.add(ErrorStatus(503, message="etcdserver: leader changed"), method="PATCH")


def _delete_outage(proxy: FaultProxy, _rng: random.Random) -> None:
    proxy.add(ErrorStatus(503, message="etcdserver: request timed out"), method="DELETE")


def _random(proxy: FaultProxy, rng: random.Random) -> None:
    """Every request risks each fault with a probability drawn from the seed (2-6 % each)."""
    faults = [
        too_many_requests(1), ErrorStatus(500), ErrorStatus(503), ErrorStatus(504), Reset(),
        Reset(after_headers=True), Latency(0.05, jitter=0.1), SlowBody(chunk_size=256, delay=0.002),
    ]
    for fault in faults:
        proxy.add(fault, probability=rng.uniform(0.02, 0.06), watch=False)
    proxy.add(DropWatch(after_events=1), watch=True, probability=rng.uniform(0.2, 0.5))
    proxy.add(DropWatch(after_seconds=0.05, reset=True), watch=True, probability=rng.uniform(0.05, 0.2))
    proxy.add(ErrorStatus(503), watch=True, probability=rng.uniform(0.02, 0.06))


SCHEDULES: dict[str, tuple[str, Schedule]] = {
    "retry-after": ("429 with Retry-After: 1 on the first applies and deletes", _retry_after),
    "server-errors": ("500/503/504 on applies, reads, deletes and the service proxy", _server_errors),
    "resets": ("connection resets before the answer and after its headers", _resets),
    "slow": ("latency on every 6th request, every read body trickled", _slow),
    "watch-drops": ("watch streams reset or ended after one event", _watch_drops),
    "watch-errors": ("watch requests answered 503, 429 or reset", _watch_errors),
    "random": ("seeded random mix of all of the above on every request", _random),
    "apply-outage": ("every apply answered 503 (cannot pass)", _apply_outage),
    "delete-outage": ("every delete answered 503 (teardown cannot finish)", _delete_outage),
}
TRANSIENT = [name for name in SCHEDULES if not name.endswith("-outage")]
OUTAGES = [name for name in SCHEDULES if name.endswith("-outage")]


def fault_trial(workdir: Path, schedule: str, seed: int, real: RealTarget | None = None) -> Trial:
    """Conduct a fixture experiment through the fault proxy under `schedule`, then judge it;
    on the API emulator, or on `real` (a cluster shared with other tests: unique names)."""
    name = "relia" if real is None else f"relia-f{uuid.uuid4().hex[:6]}"
    # Watch faults need waits that watch: with a slower "controller" the objects are not ready
    # yet when the wait has listed them.
    ready_after = 0.3 if schedule.startswith("watch") or schedule == "random" else 0.02
    stack_cm = (
        tier2(workdir, proxy_seed=seed, ready_after=ready_after) if real is None
        else tier3(workdir, real.kubeconfig, real.context, [name], real.params, proxy_seed=seed)
    )
    with stack_cm as stack:
        assert stack.proxy is not None
        SCHEDULES[schedule][1](stack.proxy, random.Random(seed))
        state = workdir / "lab"
        run = run_lab(conduct_args(stack, name), env=lab_env(state))
        injected = stack.proxy.faults_injected
        return judge(stack, run, name=f"{name}@{schedule}", seed=seed, state=state, faults=injected,
                     instance=name)
