"""nats-messaging: a NATS server with JetStream, played on the emulator.

The nats CLI commands of every nats-box Job run when the Job appears, in order: `stream add`
(name, subjects, retention), `consumer add` (durable name, deliver policy), `pub` (`--count`
messages on a subject: stored by the stream whose subjects match, lost otherwise) and
`consumer next --ack --count` (delivers and acknowledges; a work-queue stream deletes what was
acknowledged, a limits stream keeps it). `/jsz` reports the result as NATS does.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from tests.tutorial.worlds.base import Answer, Request, World, args_of


def subject_matches(pattern: str, subject: str) -> bool:
    p, s = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(p) == len(s)


class NatsMessaging(World):
    services = (("nats", "nats", 8222),)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.streams: dict[str, dict[str, Any]] = {}
        self.ran: set[str] = set()

    def react(self) -> None:
        self.on("Job", self._job, ("ADDED",))

    def _job(self, job: dict[str, Any]) -> None:
        if job["metadata"]["name"] in self.ran:
            return
        self.ran.add(job["metadata"]["name"])
        script = " ".join(args_of(job))
        with self.lock:
            for command in script.split("&&"):
                words = shlex.split(command)
                if "nats" in words:
                    self._run(words[words.index("nats") + 1:])

    @staticmethod
    def _flag(words: list[str], name: str, default: str = "") -> str:
        return words[words.index(name) + 1] if name in words else default

    def _run(self, words: list[str]) -> None:
        if words[:2] == ["stream", "add"]:
            self.streams[words[2]] = {
                "subjects": self._flag(words, "--subjects").split(","),
                "retention": self._flag(words, "--retention", "limits"),
                "messages": [], "last_seq": 0, "consumers": {}}
        elif words[:2] == ["consumer", "add"]:
            self.streams[words[2]]["consumers"][words[3]] = {"delivered": 0, "acked": 0}
        elif words[0] == "pub":
            for _ in range(int(self._flag(words, "--count", "1"))):
                for stream in self.streams.values():
                    if any(subject_matches(p, words[1]) for p in stream["subjects"]):
                        stream["last_seq"] += 1
                        stream["messages"].append(stream["last_seq"])
                        break
        elif words[:2] == ["consumer", "next"]:
            stream = self.streams[words[2]]
            consumer = stream["consumers"][words[3]]
            wanted = int(self._flag(words, "--count", "1"))
            pending = [m for m in stream["messages"] if m > consumer["delivered"]][:wanted]
            for seq in pending:
                consumer["delivered"] = seq
                if "--ack" in words:
                    consumer["acked"] = seq
                    if stream["retention"] == "work":
                        stream["messages"].remove(seq)

    def answer(self, req: Request) -> Answer:
        if req.path != "/jsz":
            return super().answer(req)
        details = []
        for name, stream in self.streams.items():
            detail: dict[str, Any] = {
                "name": name, "created": "2026-01-01T00:00:00Z",
                "config": {"name": name, "subjects": stream["subjects"], "retention": stream["retention"],
                           "storage": "memory"},
                "state": {"messages": len(stream["messages"]), "bytes": 0,
                          "first_seq": stream["messages"][0] if stream["messages"] else stream["last_seq"] + 1,
                          "last_seq": stream["last_seq"], "consumer_count": len(stream["consumers"])},
            }
            if req.q("consumers") == "true":
                detail["consumer_detail"] = [
                    {"stream_name": name, "name": cname, "config": {"durable_name": cname},
                     "delivered": {"consumer_seq": c["delivered"], "stream_seq": c["delivered"]},
                     "ack_floor": {"consumer_seq": c["acked"], "stream_seq": c["acked"]},
                     "num_ack_pending": c["delivered"] - c["acked"], "num_redelivered": 0,
                     "num_waiting": 0,
                     "num_pending": len([m for m in stream["messages"] if m > c["delivered"]])}
                    for cname, c in stream["consumers"].items()]
            details.append(detail)
        doc = {"streams": len(details), "account_details": [{"name": "$G", "stream_detail": details}]}
        return 200, json.dumps(doc, indent=2) if req.q("streams") == "true" else json.dumps({"streams": len(details)})

