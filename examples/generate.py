#!/usr/bin/env python3
"""Writes the example agent event files in examples/events/ (deterministic).

Three agents of one Amazon Connect instance over two local days (America/New_York,
2026-11-02 and 2026-11-03), written the way real exports arrive:

  events/firehose/YYYY/MM/DD/HH/*.gz  Kinesis Firehose objects: gzip, records back to back
                                      with no delimiter, grouped by UTC arrival hour, one
                                      object re-delivered (duplicates)
  events/ndjson/2026-11-03.jsonl      JSON lines, for what arrived after 2026-11-04 00:00Z
  events/exports/mrivera-night.json   a JSON array re-exporting part of one agent's night
                                      (every record in it is also in the Firehose files)

The scenario is written as each agent's day, action by action, below; every action is one
STATE_CHANGE (or LOGIN / LOGOUT) event with the agent's snapshot before and after, and
heartbeats fill every silence of more than 120 s, continuing for an hour after logout.

Run from the repository root:  python3 examples/generate.py
"""

import copy
import datetime as dt
import gzip
import json
import os
import random
import shutil
import uuid
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("America/New_York")
ACCOUNT = "111122223333"
INSTANCE = f"arn:aws:connect:us-east-1:{ACCOUNT}:instance/0c4f7a52-6b1e-4d2a-9e0f-5a3c2b1d0e9f"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "events")
RNG = random.Random(20261102)


def new_id():
    return str(uuid.UUID(int=RNG.getrandbits(128), version=4))


def arn(kind, ident):
    return f"{INSTANCE}/{kind}/{ident}"


STATUS = {
    "Available": ("ROUTABLE", arn("agent-state", "9d3c1f1e-0a43-4d0c-8a8e-7b8c5d2f1a01")),
    "Offline": ("OFFLINE", arn("agent-state", "9d3c1f1e-0a43-4d0c-8a8e-7b8c5d2f1a02")),
    "Lunch": ("CUSTOM", arn("agent-state", "9d3c1f1e-0a43-4d0c-8a8e-7b8c5d2f1a03")),
    "Break": ("CUSTOM", arn("agent-state", "9d3c1f1e-0a43-4d0c-8a8e-7b8c5d2f1a04")),
    "Training": ("CUSTOM", arn("agent-state", "9d3c1f1e-0a43-4d0c-8a8e-7b8c5d2f1a05")),
}

QUEUES = {
    "Support": arn("queue", "6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5f6"),
    "Sales": arn("queue", "6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5f7"),
    "Outbound": arn("queue", "6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5f8"),
}


def group(name, ident):
    return {"ARN": arn("agent-group", ident), "Name": name}


NORTH_AMERICA = group("North America", "1a000000-0000-4000-8000-000000000001")
NEW_YORK = group("New York", "1a000000-0000-4000-8000-000000000002")
REMOTE = group("Remote", "1a000000-0000-4000-8000-000000000003")


def routing_profile(name, ident, voice, chat, task):
    return {
        "ARN": arn("routing-profile", ident),
        "Name": name,
        "Concurrency": [
            {"AvailableSlots": chat, "Channel": "CHAT", "MaximumSlots": chat},
            {"AvailableSlots": task, "Channel": "TASK", "MaximumSlots": task},
            {"AvailableSlots": voice, "Channel": "VOICE", "MaximumSlots": voice},
        ],
        "DefaultOutboundQueue": {"ARN": QUEUES["Outbound"], "Channels": ["VOICE"], "Name": "Outbound"},
        "InboundQueues": [
            {"ARN": QUEUES["Support"], "Channels": ["VOICE", "CHAT", "TASK"], "Name": "Support"},
            {"ARN": QUEUES["Sales"], "Channels": ["VOICE"], "Name": "Sales"},
        ],
    }


VOICE_RP = routing_profile("Voice inbound", "2b000000-0000-4000-8000-000000000001", 1, 0, 0)
BLENDED_RP = routing_profile("Voice and chat", "2b000000-0000-4000-8000-000000000002", 1, 2, 1)
CHAT_RP = routing_profile("Chat and tasks", "2b000000-0000-4000-8000-000000000003", 0, 3, 2)


def iso(t):
    """UTC, millisecond precision, `Z` (as the agent event stream writes it)."""
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class Agent:
    def __init__(self, login, first, last, agent_id, levels, rp):
        self.username = login
        self.arn = arn("agent", agent_id)
        self.config = {
            "AgentHierarchyGroups": {f"Level{i + 1}": g for i, g in enumerate(levels)},
            "FirstName": first,
            "LastName": last,
            "RoutingProfile": rp,
            "Username": login,
        }
        self.status = ("Offline", None)
        self.next_status = None
        self.contacts = []
        self.events = []
        self.logged_out_at = None

    def snapshot(self):
        name, since = self.status
        kind, status_arn = STATUS[name]
        return {
            "AgentStatus": {"ARN": status_arn, "Name": name, "StartTimestamp": iso(since), "Type": kind},
            "NextAgentStatus": copy.deepcopy(self.next_status),
            "Configuration": copy.deepcopy(self.config),
            "Contacts": copy.deepcopy(self.contacts),
        }

    def emit(self, t, kind, before, after):
        self.events.append({
            "AWSAccountId": ACCOUNT,
            "AgentARN": self.arn,
            "CurrentAgentSnapshot": after,
            "EventId": new_id(),
            "EventTimestamp": iso(t),
            "EventType": kind,
            "InstanceARN": INSTANCE,
            "PreviousAgentSnapshot": before,
            "Version": "2019-05-25",
        })

    # -- actions: each changes the state and emits one event --------------------------------

    def act(self, t, kind, change):
        self.heartbeats_until(t)
        before = self.snapshot()
        change()
        self.emit(t, kind, before, self.snapshot())

    def login(self, t):
        self.logged_out_at = None
        self.heartbeats_until(t)
        self.status = ("Offline", t)
        # No previous snapshot on LOGIN: the state before it counts as Offline.
        self.emit(t, "LOGIN", None, self.snapshot())

    def logout(self, t):
        self.act(t, "LOGOUT", lambda: None)
        self.logged_out_at = t

    def set_status(self, t, name):
        def change():
            self.status = (name, t)
            self.next_status = None
            # Choosing a status clears missed and rejected contacts.
            self.contacts = [c for c in self.contacts if c["State"] not in ("MISSED", "REJECTED", "ERROR")]
        self.act(t, "STATE_CHANGE", change)

    def set_next_status(self, t, name):
        def change():
            self.next_status = {"ARN": STATUS[name][1], "Name": name, "EnqueuedTimestamp": iso(t)}
        self.act(t, "STATE_CHANGE", change)

    def set_routing_profile(self, t, rp):
        def change():
            self.config["RoutingProfile"] = rp
        self.act(t, "STATE_CHANGE", change)

    def offer(self, t, cid, channel, method, queue="Support", state="CONNECTING"):
        def change():
            self.contacts.append({
                "Channel": channel,
                "ConnectedToAgentTimestamp": None,
                "ContactId": cid,
                "InitialContactId": None,
                "InitiationMethod": method,
                "Queue": {"ARN": QUEUES[queue], "Name": queue},
                "QueueTimestamp": None if method == "OUTBOUND" else iso(t - dt.timedelta(seconds=40)),
                "State": state,
                "StateStartTimestamp": iso(t),
            })
        self.act(t, "STATE_CHANGE", change)

    def contact_state(self, t, cid, state):
        def change():
            for c in self.contacts:
                if c["ContactId"] == cid:
                    c["State"] = state
                    c["StateStartTimestamp"] = iso(t)
                    if state == "CONNECTED" and c["ConnectedToAgentTimestamp"] is None:
                        c["ConnectedToAgentTimestamp"] = iso(t)
        self.act(t, "STATE_CHANGE", change)

    def clear(self, t, cid):
        """The agent clears a contact (ends after contact work)."""
        def change():
            self.contacts = [c for c in self.contacts if c["ContactId"] != cid]
            if not self.contacts and self.next_status:
                self.status = (self.next_status["Name"], t)
                self.next_status = None
        self.act(t, "STATE_CHANGE", change)

    def heartbeats_until(self, t):
        """HEART_BEAT every 120 s of silence; they stop an hour after logout."""
        if not self.events:
            return
        last = parse(self.events[-1]["EventTimestamp"])
        while t - last > dt.timedelta(seconds=120):
            last = last + dt.timedelta(seconds=120)
            if self.logged_out_at and last - self.logged_out_at > dt.timedelta(hours=1):
                return
            snap = self.snapshot()
            self.emit(last, "HEART_BEAT", snap, copy.deepcopy(snap))


def parse(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


def local(date, hms):
    h, m, s = (int(x) for x in hms.split(":"))
    t = dt.datetime(2026, 11, date, h, m, s, tzinfo=ZONE)
    return t + dt.timedelta(milliseconds=RNG.randrange(0, 1000))


def jdoe():
    a = Agent("jdoe", "Jane", "Doe", "a1000000-0000-4000-8000-000000000001", [NORTH_AMERICA, NEW_YORK], VOICE_RP)
    d = 2
    a.login(local(d, "08:00:00"))
    a.set_status(local(d, "08:00:04"), "Available")
    a.offer(local(d, "08:12:30"), "c-0001", "VOICE", "INBOUND")
    a.contact_state(local(d, "08:12:41"), "c-0001", "CONNECTED")
    a.contact_state(local(d, "08:20:02"), "c-0001", "CONNECTED_ONHOLD")
    a.contact_state(local(d, "08:22:15"), "c-0001", "CONNECTED")
    a.contact_state(local(d, "08:31:40"), "c-0001", "ENDED")
    a.clear(local(d, "08:33:10"), "c-0001")
    a.offer(local(d, "09:05:00"), "c-0002", "VOICE", "INBOUND", queue="Sales")
    a.contact_state(local(d, "09:05:20"), "c-0002", "MISSED")
    a.set_status(local(d, "09:05:48"), "Available")
    a.set_routing_profile(local(d, "10:15:00"), BLENDED_RP)  # configuration only: no new row
    a.set_status(local(d, "12:00:00"), "Lunch")
    a.set_status(local(d, "12:45:30"), "Available")
    a.offer(local(d, "14:02:00"), "c-0003", "VOICE", "OUTBOUND", queue="Outbound")
    a.contact_state(local(d, "14:02:19"), "c-0003", "CONNECTED")
    a.contact_state(local(d, "14:10:05"), "c-0003", "ENDED")
    a.clear(local(d, "14:11:00"), "c-0003")
    a.offer(local(d, "15:30:00"), "c-0004", "VOICE", "CALLBACK", state="INCOMING")
    a.contact_state(local(d, "15:30:08"), "c-0004", "CONNECTING")
    a.contact_state(local(d, "15:30:21"), "c-0004", "ENDED")
    a.clear(local(d, "15:31:00"), "c-0004")
    a.offer(local(d, "16:52:10"), "c-0005", "VOICE", "INBOUND")
    a.contact_state(local(d, "16:52:18"), "c-0005", "CONNECTED")
    a.set_next_status(local(d, "16:57:00"), "Offline")  # next status: no new row
    a.contact_state(local(d, "16:59:30"), "c-0005", "ENDED")
    a.clear(local(d, "17:00:00"), "c-0005")  # the next status applies: Offline
    a.logout(local(d, "17:00:03"))

    d = 3
    a.login(local(d, "08:00:00"))
    a.set_status(local(d, "08:00:02"), "Available")
    a.offer(local(d, "09:00:00"), "c-0006", "VOICE", "OUTBOUND", queue="Outbound")
    a.contact_state(local(d, "09:00:09"), "c-0006", "ERROR")
    a.set_status(local(d, "09:00:30"), "Available")
    a.set_status(local(d, "11:58:00"), "Offline")
    a.logout(local(d, "12:00:00"))
    a.heartbeats_until(local(d, "14:00:00"))
    return a


def asmith():
    a = Agent("asmith", "Amir", "Smith", "a1000000-0000-4000-8000-000000000002", [NORTH_AMERICA, NEW_YORK], CHAT_RP)
    d = 2
    a.login(local(d, "09:00:00"))
    a.set_status(local(d, "09:00:10"), "Available")
    a.offer(local(d, "09:10:00"), "ch-0001", "CHAT", "API")
    a.contact_state(local(d, "09:10:06"), "ch-0001", "CONNECTED")
    a.offer(local(d, "09:14:00"), "ch-0002", "CHAT", "API")  # Busy still wins (tier 3 over 5)
    a.contact_state(local(d, "09:14:05"), "ch-0002", "CONNECTED")
    a.contact_state(local(d, "09:25:00"), "ch-0001", "ENDED")  # one chat still connected: Busy
    a.clear(local(d, "09:26:00"), "ch-0001")
    a.contact_state(local(d, "09:40:00"), "ch-0002", "ENDED")
    a.clear(local(d, "09:41:30"), "ch-0002")
    a.offer(local(d, "10:30:00"), "ch-0003", "CHAT", "API")
    a.contact_state(local(d, "10:30:20"), "ch-0003", "MISSED")
    a.set_status(local(d, "10:30:45"), "Available")
    a.set_status(local(d, "11:00:00"), "Break")
    a.set_status(local(d, "11:15:00"), "Available")
    a.offer(local(d, "13:00:00"), "t-0001", "TASKS", "API")
    a.contact_state(local(d, "13:00:10"), "t-0001", "CONNECTED")
    a.contact_state(local(d, "13:20:00"), "t-0001", "PAUSED")
    a.contact_state(local(d, "13:30:00"), "t-0001", "CONNECTED")
    a.contact_state(local(d, "13:45:00"), "t-0001", "ENDED")
    a.clear(local(d, "13:46:00"), "t-0001")
    a.set_status(local(d, "15:00:00"), "Training")
    a.set_status(local(d, "16:00:00"), "Available")
    a.set_status(local(d, "17:30:00"), "Offline")
    a.logout(local(d, "17:30:02"))
    a.heartbeats_until(local(d, "19:00:00"))
    return a


def mrivera():
    a = Agent("mrivera", "Maria", "Rivera", "a1000000-0000-4000-8000-000000000003", [NORTH_AMERICA, REMOTE], VOICE_RP)
    d = 2
    a.login(local(d, "22:00:00"))
    a.set_status(local(d, "22:00:05"), "Available")
    a.offer(local(d, "23:30:00"), "c-0101", "VOICE", "INBOUND")
    a.contact_state(local(d, "23:30:07"), "c-0101", "CONNECTED")
    d = 3  # the call crosses local midnight
    a.contact_state(local(d, "00:10:00"), "c-0101", "ENDED")
    a.clear(local(d, "00:12:00"), "c-0101")
    a.set_status(local(d, "02:00:00"), "Break")
    a.set_status(local(d, "02:20:00"), "Available")
    a.offer(local(d, "03:30:00"), "e-0001", "EMAIL", "INBOUND")
    a.contact_state(local(d, "03:30:15"), "e-0001", "CONNECTED")
    a.contact_state(local(d, "03:52:00"), "e-0001", "ENDED")
    a.clear(local(d, "03:55:00"), "e-0001")
    a.set_status(local(d, "06:00:00"), "Offline")
    a.logout(local(d, "06:00:02"))
    a.login(local(d, "22:00:00"))
    a.set_status(local(d, "22:00:03"), "Available")
    a.heartbeats_until(local(d, "22:30:00"))
    # No events 22:30–22:50 (a delivery outage): the row is flagged `gap`.
    a.events = [e for e in a.events if not (
        local(d, "22:30:00") < parse(e["EventTimestamp"]) < local(d, "22:50:00"))]
    last = a.snapshot()
    a.emit(local(d, "22:50:00"), "HEART_BEAT", last, copy.deepcopy(last))
    # The data ends at 23:40 while she is still Available: the last row is `open`.
    a.heartbeats_until(local(d, "23:40:00"))
    return a


def write_gzip(path, records):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    body = "".join(json.dumps(r, separators=(",", ":")) for r in records).encode()
    with open(path, "wb") as raw:
        # mtime=0 keeps the files byte-for-byte reproducible.
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
            gz.write(body)


def main():
    agents = [jdoe(), asmith(), mrivera()]
    records = []
    for a in agents:
        for e in a.events:
            t = parse(e["EventTimestamp"])
            # Arrival: a second or two later; now and then much later (retries).
            delay = dt.timedelta(milliseconds=RNG.randrange(200, 2500))
            if RNG.random() < 0.01:
                delay += dt.timedelta(minutes=RNG.randrange(20, 90))
            records.append((t + delay, e))
    records.sort(key=lambda r: r[0])

    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    cutoff = dt.datetime(2026, 11, 4, 0, 0, tzinfo=dt.timezone.utc)
    early = [r for r in records if r[0] < cutoff]
    late = [r for r in records if r[0] >= cutoff]

    by_hour = {}
    for arrival, e in early:
        by_hour.setdefault(arrival.strftime("%Y/%m/%d/%H"), []).append((arrival, e))
    redelivered = sorted(by_hour)[len(by_hour) // 2]
    for hour, rs in sorted(by_hour.items()):
        first = rs[0][0]
        name = f"agent-events-1-{first.strftime('%Y-%m-%d-%H-%M-%S')}-{new_id()}.gz"
        write_gzip(os.path.join(OUT, "firehose", hour, name), [e for _, e in rs])
        if hour == redelivered:
            # Firehose retried this object: the same records again under another name.
            again = f"agent-events-1-{first.strftime('%Y-%m-%d-%H-%M-%S')}-{new_id()}.gz"
            write_gzip(os.path.join(OUT, "firehose", hour, again), [e for _, e in rs])

    os.makedirs(os.path.join(OUT, "ndjson"), exist_ok=True)
    with open(os.path.join(OUT, "ndjson", "2026-11-03.jsonl"), "w") as f:
        for _, e in late:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")

    night = [e for _, e in early if e["AgentARN"] == agents[2].arn
             and dt.datetime(2026, 11, 3, 3, tzinfo=dt.timezone.utc)
             <= parse(e["EventTimestamp"]) < dt.datetime(2026, 11, 3, 6, tzinfo=dt.timezone.utc)]
    os.makedirs(os.path.join(OUT, "exports"), exist_ok=True)
    with open(os.path.join(OUT, "exports", "mrivera-night.json"), "w") as f:
        json.dump(list(reversed(night)), f, indent=1)
        f.write("\n")

    total = sum(len(a.events) for a in agents)
    print(f"wrote {total} events for {len(agents)} agents under {OUT}")


if __name__ == "__main__":
    main()
