//! A fast, deterministic synthetic agent event stream, for benchmarks and tests.
//!
//! [`Synth`] simulates an Amazon Connect instance: `agents` agents working shifts over
//! `days` local days in one time zone, and yields their agent events (the JSON shape of
//! `examples/generate.py`, about 6 KB each with both snapshots) one at a time in
//! `EventTimestamp` order, so gigabytes of input stream out in constant memory: 5,000
//! agents over 2 days is about 3.6 million events, 22 GB.
//!
//! It is a discrete-event simulation. Every agent is a small state machine with a queue of
//! planned steps at absolute times (a shift's login, one activity — a call, a few chats, a
//! task, a break — at a time, the logout); a min-heap keyed by (time, agent index) picks the
//! agent whose next event is earliest, and that event is serialized at once. Heartbeats
//! fill every silence longer than 120 s while an agent is logged in and for an hour after
//! its logout. Each agent draws from its own random generator, seeded from the seed and
//! its index, so the output depends on nothing but the options. Memory is O(agents).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, TimeZone};
use chrono_tz::Tz;
use fastrand::Rng;
use serde::{Serialize, Serializer};

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SynthOptions {
    /// Number of agents; their logins are `agent00001`, `agent00002`, …
    pub agents: usize,
    /// Number of local days with shifts (a night shift of the last day runs into the next).
    pub days: u32,
    /// The first local day.
    pub start: NaiveDate,
    /// The same seed gives the same bytes.
    pub seed: u64,
    /// The zone the shifts are planned in.
    pub zone: Tz,
}

/// The event generator; see the module documentation.
pub struct Synth {
    ctx: Ctx,
    groups: Vec<Group>,
    agents: Vec<Agent>,
    /// Each agent's next event time, at most one entry per agent.
    heap: BinaryHeap<Reverse<(i64, usize)>>,
}

impl Synth {
    pub fn new(options: SynthOptions) -> Synth {
        let ctx = Ctx {
            start: options.start,
            days: options.days,
            zone: options.zone,
        };
        let (groups, leaves) = hierarchy();
        let mut agents = Vec::with_capacity(options.agents);
        let mut heap = BinaryHeap::with_capacity(options.agents);
        for index in 0..options.agents {
            let mut agent = Agent::new(index, options.seed, &leaves);
            agent.plan_more(i64::MIN / 2, &ctx);
            if let Some(at) = agent.next_time() {
                heap.push(Reverse((at, index)));
            }
            agents.push(agent);
        }
        Synth {
            ctx,
            groups,
            agents,
            heap,
        }
    }

    /// Appends the next event (one JSON object, no trailing newline) to `out` and returns
    /// its `EventTimestamp` in milliseconds since the epoch; `None` when done. Events come
    /// out in non-decreasing `EventTimestamp` order across all agents.
    pub fn next_event(&mut self, out: &mut Vec<u8>) -> Option<i64> {
        let Reverse((at, index)) = self.heap.pop()?;
        let agent = self.agents.get_mut(index)?;
        let step = agent.plan.front().map(|s| s.at);
        let heartbeat = agent.heartbeat_at();
        let event_id = uuid_v4(&mut agent.rng);
        let written = match step {
            Some(s) if heartbeat.is_none_or(|h| s <= h) => {
                let kind = agent.execute();
                let previous = (kind != "LOGIN").then(|| agent.snapshot(&agent.prev, &self.groups));
                let event = agent.event(kind, at, event_id, previous, &self.groups);
                serde_json::to_writer(&mut *out, &event)
            }
            _ => {
                let snapshot = agent.snapshot(&agent.cur, &self.groups);
                let event = agent.event("HEART_BEAT", at, event_id, Some(snapshot), &self.groups);
                serde_json::to_writer(&mut *out, &event)
            }
        };
        agent.last_event = Some(at);
        if agent.plan.is_empty() {
            agent.plan_more(at, &self.ctx);
        }
        if let Some(next) = agent.next_time() {
            self.heap.push(Reverse((next, index)));
        }
        written.ok()?;
        Some(at)
    }
}

// ------------------------------------------------------------------------------ constants

macro_rules! arn {
    ($rest:expr) => {
        concat!(
            "arn:aws:connect:us-east-1:111122223333:instance/0c4f7a52-6b1e-4d2a-9e0f-5a3c2b1d0e9f",
            $rest
        )
    };
}

const ACCOUNT: &str = "111122223333";
const INSTANCE: &str = arn!("");
const VERSION: &str = "2019-05-25";
const HEARTBEAT_MS: i64 = 120_000;
const AFTER_LOGOUT_MS: i64 = 3_600_000;
const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Available,
    Offline,
    Lunch,
    Break,
    Training,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Available => "Available",
            Status::Offline => "Offline",
            Status::Lunch => "Lunch",
            Status::Break => "Break",
            Status::Training => "Training",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Status::Available => "ROUTABLE",
            Status::Offline => "OFFLINE",
            _ => "CUSTOM",
        }
    }

    fn arn(self) -> &'static str {
        match self {
            Status::Available => arn!("/agent-state/9d3c1f1e-0a43-4d0c-8a8e-7b8c5d2f1a01"),
            Status::Offline => arn!("/agent-state/9d3c1f1e-0a43-4d0c-8a8e-7b8c5d2f1a02"),
            Status::Lunch => arn!("/agent-state/9d3c1f1e-0a43-4d0c-8a8e-7b8c5d2f1a03"),
            Status::Break => arn!("/agent-state/9d3c1f1e-0a43-4d0c-8a8e-7b8c5d2f1a04"),
            Status::Training => arn!("/agent-state/9d3c1f1e-0a43-4d0c-8a8e-7b8c5d2f1a05"),
        }
    }
}

/// A queue as a routing profile lists it.
#[derive(Serialize)]
struct QueueDef {
    #[serde(rename = "ARN")]
    arn: &'static str,
    #[serde(rename = "Channels")]
    channels: &'static [&'static str],
    #[serde(rename = "Name")]
    name: &'static str,
}

const VOICE: &[&str] = &["VOICE"];
const CHAT: &[&str] = &["CHAT"];
const TASK: &[&str] = &["TASK"];
const VOICE_CHAT: &[&str] = &["VOICE", "CHAT"];
const VOICE_TASK: &[&str] = &["VOICE", "TASK"];
const CHAT_TASK: &[&str] = &["CHAT", "TASK"];
const ALL: &[&str] = &["VOICE", "CHAT", "TASK"];

const fn queue(
    arn: &'static str,
    name: &'static str,
    channels: &'static [&'static str],
) -> QueueDef {
    QueueDef {
        arn,
        channels,
        name,
    }
}

const QUEUES: &[QueueDef] = &[
    queue(
        arn!("/queue/6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5f6"),
        "Support",
        ALL,
    ),
    queue(
        arn!("/queue/6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5f7"),
        "Sales",
        VOICE,
    ),
    queue(
        arn!("/queue/6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5f8"),
        "Outbound",
        VOICE,
    ),
    queue(
        arn!("/queue/6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5f9"),
        "Billing",
        VOICE_CHAT,
    ),
    queue(
        arn!("/queue/6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5fa"),
        "Technical Support",
        ALL,
    ),
    queue(
        arn!("/queue/6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5fb"),
        "Retention",
        VOICE,
    ),
    queue(
        arn!("/queue/6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5fc"),
        "Claims",
        VOICE_TASK,
    ),
    queue(
        arn!("/queue/6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5fd"),
        "Returns",
        CHAT_TASK,
    ),
    queue(
        arn!("/queue/6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5fe"),
        "Spanish Support",
        VOICE_CHAT,
    ),
    queue(
        arn!("/queue/6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e5ff"),
        "VIP",
        VOICE_CHAT,
    ),
    queue(
        arn!("/queue/6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e600"),
        "Web Chat",
        CHAT,
    ),
    queue(
        arn!("/queue/6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e601"),
        "Back Office",
        TASK,
    ),
    queue(
        arn!("/queue/6f0e3c0a-1b2c-4d5e-8f90-a1b2c3d4e602"),
        "Escalations",
        ALL,
    ),
];

/// Index of the default outbound queue in [`QUEUES`].
const OUTBOUND_QUEUE: usize = 2;

/// Which activities an agent does, from their routing profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Voice,
    Chat,
    Blended,
}

struct ProfileDef {
    arn: &'static str,
    name: &'static str,
    kind: Kind,
    /// Maximum slots: chat, task, voice.
    slots: [u8; 3],
    inbound: &'static [usize],
    /// The profile a configuration change switches to (same kind).
    alternate: usize,
}

const PROFILES: &[ProfileDef] = &[
    ProfileDef {
        arn: arn!("/routing-profile/2b000000-0000-4000-8000-000000000001"),
        name: "Voice inbound",
        kind: Kind::Voice,
        slots: [0, 0, 1],
        inbound: &[0, 1, 3, 5],
        alternate: 1,
    },
    ProfileDef {
        arn: arn!("/routing-profile/2b000000-0000-4000-8000-000000000004"),
        name: "Voice sales and retention",
        kind: Kind::Voice,
        slots: [0, 0, 1],
        inbound: &[1, 5, 9, 3],
        alternate: 0,
    },
    ProfileDef {
        arn: arn!("/routing-profile/2b000000-0000-4000-8000-000000000002"),
        name: "Voice and chat",
        kind: Kind::Blended,
        slots: [2, 1, 1],
        inbound: &[0, 1, 3, 4],
        alternate: 3,
    },
    ProfileDef {
        arn: arn!("/routing-profile/2b000000-0000-4000-8000-000000000005"),
        name: "Omnichannel premium",
        kind: Kind::Blended,
        slots: [3, 2, 1],
        inbound: &[0, 3, 4, 9, 12],
        alternate: 2,
    },
    ProfileDef {
        arn: arn!("/routing-profile/2b000000-0000-4000-8000-000000000003"),
        name: "Chat and tasks",
        kind: Kind::Chat,
        slots: [3, 2, 0],
        inbound: &[0, 4, 10, 11],
        alternate: 5,
    },
    ProfileDef {
        arn: arn!("/routing-profile/2b000000-0000-4000-8000-000000000006"),
        name: "Digital back office",
        kind: Kind::Chat,
        slots: [2, 3, 0],
        inbound: &[7, 10, 11, 12],
        alternate: 4,
    },
];

const FIRST_NAMES: &[&str] = &[
    "Jane", "Amir", "Maria", "Liam", "Olivia", "Noah", "Emma", "Mateo", "Ava", "Lucas", "Sofia",
    "Ethan", "Chloe", "Aarav", "Mia", "Kenji", "Fatima", "Oscar", "Ingrid", "Tomasz", "Priya",
    "Diego", "Hannah", "Kwame",
];

const LAST_NAMES: &[&str] = &[
    "Doe", "Smith", "Rivera", "Johnson", "Garcia", "Nguyen", "Brown", "Martinez", "Okafor",
    "Kowalski", "Tanaka", "Patel", "Müller", "O'Brien", "Dubois", "Rossi", "Andersen", "Silva",
    "Cohen", "Haddad", "Larsen", "Moreau", "Ivanova", "Mensah",
];

const ATTRIBUTES: &[(&str, &str)] = &[
    ("Language", "English"),
    ("Language", "Spanish"),
    ("Language", "French"),
    ("Language", "German"),
    ("Product", "Billing"),
    ("Product", "Hardware"),
    ("Product", "Software"),
    ("Skill", "Escalations"),
    ("Skill", "Retention"),
    ("Region", "US"),
    ("Region", "EU"),
];

/// A hierarchy group.
#[derive(Serialize)]
struct Group {
    #[serde(rename = "ARN")]
    arn: String,
    #[serde(rename = "Name")]
    name: String,
}

/// The hierarchy tree (region → site → department → team → squad) and the paths to its
/// leaves, as indices into the group list.
fn hierarchy() -> (Vec<Group>, Vec<[usize; 5]>) {
    const SITES: &[(&str, &[&str])] = &[
        ("North America", &["New York", "Toronto", "Remote"]),
        ("EMEA", &["London", "Dublin"]),
    ];
    const DEPARTMENTS: &[&str] = &["Customer Care", "Sales and Retention"];
    const TEAMS: &[&str] = &["Team Aurora", "Team Borealis"];
    const SQUADS: &[&str] = &["Squad 1", "Squad 2"];
    let mut groups = Vec::new();
    let mut add = |name: &str| {
        groups.push(Group {
            arn: format!(
                "{INSTANCE}/agent-group/1a000000-0000-4000-8000-{:012x}",
                groups.len() + 1
            ),
            name: name.to_owned(),
        });
        groups.len() - 1
    };
    let mut leaves = Vec::new();
    for (region, sites) in SITES {
        let l1 = add(region);
        for site in *sites {
            let l2 = add(site);
            for department in DEPARTMENTS {
                let l3 = add(department);
                for team in TEAMS {
                    let l4 = add(team);
                    for squad in SQUADS {
                        let l5 = add(squad);
                        leaves.push([l1, l2, l3, l4, l5]);
                    }
                }
            }
        }
    }
    (groups, leaves)
}

// ------------------------------------------------------------------------------ agent state

struct Ctx {
    start: NaiveDate,
    days: u32,
    zone: Tz,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
enum Channel {
    #[serde(rename = "VOICE")]
    Voice,
    #[serde(rename = "CHAT")]
    Chat,
    #[serde(rename = "TASKS")]
    Task,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
enum Method {
    #[serde(rename = "INBOUND")]
    Inbound,
    #[serde(rename = "OUTBOUND")]
    Outbound,
    #[serde(rename = "CALLBACK")]
    Callback,
    #[serde(rename = "API")]
    Api,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
enum State {
    #[serde(rename = "INCOMING")]
    Incoming,
    #[serde(rename = "CONNECTING")]
    Connecting,
    #[serde(rename = "CONNECTED")]
    Connected,
    #[serde(rename = "CONNECTED_ONHOLD")]
    OnHold,
    #[serde(rename = "MISSED")]
    Missed,
    #[serde(rename = "PAUSED")]
    Paused,
    #[serde(rename = "REJECTED")]
    Rejected,
    #[serde(rename = "ERROR")]
    Error,
    #[serde(rename = "ENDED")]
    Ended,
}

#[derive(Clone, Copy, Debug)]
struct Contact {
    id: u128,
    channel: Channel,
    method: Method,
    queue: usize,
    queue_ts: Option<i64>,
    state: State,
    state_start: i64,
    connected_at: Option<i64>,
}

/// The part of a snapshot that changes.
#[derive(Debug)]
struct Snap {
    status: Status,
    status_start: i64,
    next: Option<(Status, i64)>,
    contacts: Vec<Contact>,
    profile: usize,
}

impl Snap {
    fn copy_from(&mut self, other: &Snap) {
        self.status = other.status;
        self.status_start = other.status_start;
        self.next = other.next;
        self.contacts.clear();
        self.contacts.extend_from_slice(&other.contacts);
        self.profile = other.profile;
    }
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Login,
    Logout,
    SetStatus(Status),
    SetNext(Status),
    Offer(Contact),
    ContactState(u128, State),
    Clear(u128),
    SetProfile(usize),
}

#[derive(Clone, Copy, Debug)]
struct Step {
    at: i64,
    action: Action,
}

#[derive(Clone, Copy, Debug)]
struct PlannedBreak {
    at: i64,
    status: Status,
    duration: i64,
}

#[derive(Clone, Copy, Debug, Serialize)]
struct Proficiency {
    #[serde(rename = "Name")]
    name: &'static str,
    #[serde(rename = "Value")]
    value: &'static str,
    #[serde(rename = "ProficiencyLevel")]
    level: f64,
}

/// How an activity ended, for attaching a Next status to it.
struct Built {
    /// Time of its last step.
    end: i64,
    /// While the (single) contact is connected: a Next status may be chosen here; the last
    /// step then clears the last contact and the Next status applies.
    window: Option<(i64, i64)>,
}

struct Agent {
    rng: Rng,
    arn: String,
    username: String,
    first_name: &'static str,
    last_name: &'static str,
    hierarchy: Option<([usize; 5], usize)>,
    proficiencies: Vec<Proficiency>,
    night: bool,
    cur: Snap,
    prev: Snap,
    plan: VecDeque<Step>,
    scratch: Vec<Step>,
    last_event: Option<i64>,
    logged_in: bool,
    logout_at: Option<i64>,
    next_day: u32,
    /// Whether a shift has been planned yet.
    worked: bool,
    shift_end: i64,
    breaks: Vec<PlannedBreak>,
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn uuid_v4(rng: &mut Rng) -> u128 {
    let r = rng.u128(..);
    (r & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62)
}

/// `rng.i64(lo..hi)` that tolerates an empty range.
fn between(rng: &mut Rng, lo: i64, hi: i64) -> i64 {
    if hi <= lo { lo } else { rng.i64(lo..hi) }
}

/// Exponentially distributed milliseconds, clamped to `min..max` and then jittered by up to
/// a second so that clamped values do not pile up on one millisecond.
fn exp_ms(rng: &mut Rng, mean: i64, min: i64, max: i64) -> i64 {
    let x = -(mean as f64) * (1.0 - rng.f64()).ln();
    (x as i64).clamp(min, max) + between(rng, 0, SECOND)
}

/// Local wall time → UTC milliseconds; a time in a spring-forward gap moves an hour later.
fn local_ms(zone: Tz, local: NaiveDateTime) -> Option<i64> {
    let resolve = |t: NaiveDateTime| zone.from_local_datetime(&t).earliest();
    let t = resolve(local).or_else(|| resolve(local.checked_add_signed(TimeDelta::hours(1))?))?;
    Some(t.timestamp_millis())
}

impl Agent {
    fn new(index: usize, seed: u64, leaves: &[[usize; 5]]) -> Agent {
        let mut rng = Rng::with_seed(splitmix64(seed ^ splitmix64(index as u64)));
        let arn = format!("{INSTANCE}/agent/{}", Uuid(uuid_v4(&mut rng)));
        let username = format!("agent{:05}", index + 1);
        let first_name = FIRST_NAMES[rng.usize(..FIRST_NAMES.len())];
        let last_name = LAST_NAMES[rng.usize(..LAST_NAMES.len())];
        let leaf = leaves.get(rng.usize(..leaves.len().max(1))).copied();
        let depth = match rng.u32(..100) {
            0..8 => 0,
            8..28 => 2,
            28..55 => 3,
            55..78 => 4,
            _ => 5,
        };
        let hierarchy = leaf.filter(|_| depth > 0).map(|l| (l, depth));
        let mut proficiencies: Vec<Proficiency> = Vec::with_capacity(4);
        let wanted = rng.usize(2..=4);
        while proficiencies.len() < wanted {
            let (name, value) = ATTRIBUTES[rng.usize(..ATTRIBUTES.len())];
            if !proficiencies
                .iter()
                .any(|p| p.name == name && p.value == value)
            {
                proficiencies.push(Proficiency {
                    name,
                    value,
                    level: f64::from(rng.u8(1..=5)),
                });
            }
        }
        let profile = match rng.u32(..100) {
            0..30 => 0,
            30..45 => 1,
            45..65 => 2,
            65..75 => 3,
            75..90 => 4,
            _ => 5,
        };
        let night = rng.u32(..100) < 15;
        let snap = || Snap {
            status: Status::Offline,
            status_start: 0,
            next: None,
            contacts: Vec::with_capacity(4),
            profile,
        };
        Agent {
            rng,
            arn,
            username,
            first_name,
            last_name,
            hierarchy,
            proficiencies,
            night,
            cur: snap(),
            prev: snap(),
            plan: VecDeque::with_capacity(16),
            scratch: Vec::with_capacity(16),
            last_event: None,
            logged_in: false,
            logout_at: None,
            next_day: 0,
            worked: false,
            shift_end: 0,
            breaks: Vec::with_capacity(3),
        }
    }

    /// When the next heartbeat is due if nothing else happens first.
    fn heartbeat_at(&self) -> Option<i64> {
        let at = self.last_event? + HEARTBEAT_MS;
        let alive = self.logged_in || self.logout_at.is_some_and(|l| at - l <= AFTER_LOGOUT_MS);
        alive.then_some(at)
    }

    fn next_time(&self) -> Option<i64> {
        match (self.plan.front().map(|s| s.at), self.heartbeat_at()) {
            (Some(s), Some(h)) => Some(s.min(h)),
            (s, h) => s.or(h),
        }
    }

    /// Applies the first planned step; returns the event type.
    fn execute(&mut self) -> &'static str {
        let Some(Step { at, action }) = self.plan.pop_front() else {
            return "HEART_BEAT";
        };
        self.prev.copy_from(&self.cur);
        let cur = &mut self.cur;
        match action {
            Action::Login => {
                self.logged_in = true;
                self.logout_at = None;
                cur.status = Status::Offline;
                cur.status_start = at;
                cur.next = None;
                cur.contacts.clear();
                return "LOGIN";
            }
            Action::Logout => {
                self.logged_in = false;
                self.logout_at = Some(at);
                return "LOGOUT";
            }
            Action::SetStatus(status) => {
                cur.status = status;
                cur.status_start = at;
                cur.next = None;
                // Choosing a status clears missed, rejected and errored contacts.
                cur.contacts
                    .retain(|c| !matches!(c.state, State::Missed | State::Rejected | State::Error));
            }
            Action::SetNext(status) => cur.next = Some((status, at)),
            Action::Offer(contact) => cur.contacts.push(contact),
            Action::ContactState(id, state) => {
                if let Some(c) = cur.contacts.iter_mut().find(|c| c.id == id) {
                    c.state = state;
                    c.state_start = at;
                    if state == State::Connected && c.connected_at.is_none() {
                        c.connected_at = Some(at);
                    }
                }
            }
            Action::Clear(id) => {
                cur.contacts.retain(|c| c.id != id);
                if cur.contacts.is_empty()
                    && let Some((status, _)) = cur.next.take()
                {
                    cur.status = status;
                    cur.status_start = at;
                }
            }
            Action::SetProfile(profile) => cur.profile = profile,
        }
        "STATE_CHANGE"
    }

    // -------------------------------------------------------------------------- planning

    /// Plans what follows `now` once the queue is empty: the next shift's login, or the
    /// next activity of the current shift.
    fn plan_more(&mut self, now: i64, ctx: &Ctx) {
        if self.logged_in {
            self.plan_activity(now);
        } else {
            self.plan_shift(now, ctx);
        }
    }

    fn push(&mut self, at: i64, action: Action) {
        self.scratch.push(Step { at, action });
    }

    /// Moves the scratch steps, in time order, to the plan.
    fn commit(&mut self) {
        self.scratch.sort_by_key(|s| s.at);
        self.plan.extend(self.scratch.drain(..));
    }

    fn plan_shift(&mut self, now: i64, ctx: &Ctx) {
        while self.next_day < ctx.days {
            let day = self.next_day;
            self.next_day += 1;
            let rng = &mut self.rng;
            // A day off, but every agent works at least one shift.
            let day_off = rng.u32(..100) < 10;
            if day_off && (self.worked || self.next_day < ctx.days) {
                continue;
            }
            let first_hour = if self.night { 20 } else { 7 };
            let offset =
                TimeDelta::milliseconds(between(rng, first_hour * HOUR, (first_hour + 3) * HOUR));
            let length = between(rng, 7 * HOUR, 9 * HOUR + 1);
            let Some(login) = ctx
                .start
                .checked_add_days(chrono::Days::new(u64::from(day)))
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(|d| d.checked_add_signed(offset))
                .and_then(|d| local_ms(ctx.zone, d))
            else {
                continue;
            };
            if login <= now + MINUTE {
                continue;
            }
            self.worked = true;
            self.shift_end = login + length;
            let available = login + between(rng, 2 * SECOND, 15 * SECOND);
            self.plan_breaks(login);
            self.push(login, Action::Login);
            self.push(available, Action::SetStatus(Status::Available));
            self.commit();
            return;
        }
    }

    /// One or two breaks per shift, now and then a training.
    fn plan_breaks(&mut self, login: i64) {
        let rng = &mut self.rng;
        self.breaks.clear();
        let short = |rng: &mut Rng, at| PlannedBreak {
            at,
            status: Status::Break,
            duration: between(rng, 10 * MINUTE, 20 * MINUTE),
        };
        let lunch = |rng: &mut Rng, at| PlannedBreak {
            at,
            status: Status::Lunch,
            duration: between(rng, 30 * MINUTE, 45 * MINUTE),
        };
        if rng.bool() {
            let at = login + between(rng, 105 * MINUTE, 150 * MINUTE);
            self.breaks.push(short(rng, at));
            let at = login + between(rng, 225 * MINUTE, 285 * MINUTE);
            self.breaks.push(lunch(rng, at));
        } else if rng.bool() {
            let at = login + between(rng, 120 * MINUTE, 210 * MINUTE);
            self.breaks.push(short(rng, at));
        } else {
            let at = login + between(rng, 210 * MINUTE, 270 * MINUTE);
            self.breaks.push(lunch(rng, at));
        }
        if rng.u32(..100) < 12 {
            self.breaks.push(PlannedBreak {
                at: login + between(rng, HOUR, 6 * HOUR),
                status: Status::Training,
                duration: between(rng, 20 * MINUTE, 45 * MINUTE),
            });
        }
        self.breaks.sort_by_key(|b| b.at);
    }

    /// The next activity after an idle gap, from Available with no contacts.
    fn plan_activity(&mut self, now: i64) {
        let profile = &PROFILES[self.cur.profile];
        let mean_gap = if profile.kind == Kind::Chat { 200 } else { 160 } * SECOND;
        let t = now + exp_ms(&mut self.rng, mean_gap, 3 * SECOND, 25 * MINUTE);

        if t >= self.shift_end {
            let off = (self.shift_end + between(&mut self.rng, 0, 90 * SECOND))
                .max(now + between(&mut self.rng, SECOND, 5 * SECOND));
            let logout = off + between(&mut self.rng, SECOND, 6 * SECOND);
            self.push(off, Action::SetStatus(Status::Offline));
            self.push(logout, Action::Logout);
            self.commit();
            return;
        }

        if let Some(&due) = self.breaks.first()
            && t >= due.at
        {
            self.breaks.remove(0);
            if self.rng.u32(..100) < 30 {
                // Choose the break as a Next status while on a contact.
                let built = self.build_contact_activity(t);
                if let Some((from, to)) = built.window {
                    let at = between(&mut self.rng, from + SECOND, to);
                    self.push(at, Action::SetNext(due.status));
                    self.push(
                        built.end + due.duration,
                        Action::SetStatus(Status::Available),
                    );
                    self.commit();
                    return;
                }
                let start = built.end + between(&mut self.rng, 3 * SECOND, 30 * SECOND);
                self.push(start, Action::SetStatus(due.status));
                self.push(start + due.duration, Action::SetStatus(Status::Available));
                self.commit();
                return;
            }
            self.push(t, Action::SetStatus(due.status));
            self.push(t + due.duration, Action::SetStatus(Status::Available));
            self.commit();
            return;
        }

        if self.rng.u32(..1000) < 15 {
            // A configuration-only change: the routing profile.
            self.push(t, Action::SetProfile(profile.alternate));
            self.commit();
            return;
        }

        let built = self.build_contact_activity(t);
        if built.end >= self.shift_end
            && let Some((from, to)) = built.window
            && self.rng.u32(..100) < 40
        {
            // Offline as the Next status: it applies when the contact is cleared.
            let at = between(&mut self.rng, from + SECOND, to);
            self.push(at, Action::SetNext(Status::Offline));
            let logout = built.end + between(&mut self.rng, SECOND, 6 * SECOND);
            self.push(logout, Action::Logout);
        }
        self.commit();
    }

    fn build_contact_activity(&mut self, t: i64) -> Built {
        let kind = PROFILES[self.cur.profile].kind;
        let r = self.rng.u32(..100);
        match (kind, r) {
            (Kind::Voice, 0..70) | (Kind::Blended, 0..40) => self.inbound_voice(t),
            (Kind::Voice, 70..90) | (Kind::Blended, 40..50) => self.outbound_voice(t),
            (Kind::Voice, _) | (Kind::Blended, 50..55) => self.callback(t),
            (Kind::Chat, 0..75) | (Kind::Blended, 55..85) => self.chats(t),
            _ => self.task(t),
        }
    }

    fn pick_queue(&mut self, channel: &str) -> usize {
        let inbound = PROFILES[self.cur.profile].inbound;
        let n = inbound
            .iter()
            .filter(|&&q| QUEUES[q].channels.contains(&channel))
            .count();
        if n == 0 {
            return inbound.first().copied().unwrap_or(0);
        }
        let k = self.rng.usize(..n);
        inbound
            .iter()
            .copied()
            .filter(|&q| QUEUES[q].channels.contains(&channel))
            .nth(k)
            .unwrap_or(0)
    }

    fn offer(&mut self, at: i64, channel: Channel, method: Method, state: State) -> u128 {
        let queue = match (channel, method) {
            (_, Method::Outbound) => OUTBOUND_QUEUE,
            (Channel::Voice, _) => self.pick_queue("VOICE"),
            (Channel::Chat, _) => self.pick_queue("CHAT"),
            (Channel::Task, _) => self.pick_queue("TASK"),
        };
        let queue_ts = match (channel, method) {
            (_, Method::Outbound) => None,
            (_, Method::Callback) => Some(at - between(&mut self.rng, 5 * MINUTE, 30 * MINUTE)),
            (Channel::Voice, _) => Some(at - between(&mut self.rng, 5 * SECOND, 3 * MINUTE)),
            (Channel::Chat, _) => Some(at - between(&mut self.rng, 2 * SECOND, MINUTE)),
            (Channel::Task, _) => Some(at - between(&mut self.rng, 10 * SECOND, 10 * MINUTE)),
        };
        let id = uuid_v4(&mut self.rng);
        self.push(
            at,
            Action::Offer(Contact {
                id,
                channel,
                method,
                queue,
                queue_ts,
                state,
                state_start: at,
                connected_at: None,
            }),
        );
        id
    }

    /// A connected conversation from `connected`: maybe a hold (voice) or a pause (task),
    /// the end, after contact work, the clearing. Returns (ended, cleared).
    fn converse(
        &mut self,
        id: u128,
        connected: i64,
        mean: i64,
        interrupt: Option<State>,
    ) -> (i64, i64) {
        let rng = &mut self.rng;
        let mut talk = exp_ms(rng, mean, 20 * SECOND, 40 * MINUTE);
        let acw = between(rng, 10 * SECOND, 120 * SECOND);
        let mut interruption = None;
        if let Some(state) = interrupt {
            let (chance, lo, hi) = match state {
                State::Paused => (30, 2 * MINUTE, 15 * MINUTE),
                _ => (20, 20 * SECOND, 3 * MINUTE),
            };
            if rng.u32(..100) < chance {
                let from = connected + between(rng, talk / 5, talk * 7 / 10).max(SECOND);
                let length = between(rng, lo, hi);
                talk += length;
                interruption = Some((from, from + length, state));
            }
        }
        let ended = connected + talk;
        self.push(connected, Action::ContactState(id, State::Connected));
        if let Some((from, to, state)) = interruption {
            self.push(from, Action::ContactState(id, state));
            self.push(to, Action::ContactState(id, State::Connected));
        }
        self.push(ended, Action::ContactState(id, State::Ended));
        self.push(ended + acw, Action::Clear(id));
        (ended, ended + acw)
    }

    /// A missed, rejected or errored contact: the agent sets Available again a little later.
    /// A contact that ends at `ended` without ever being connected: after contact work,
    /// then cleared.
    fn never_connected(&mut self, id: u128, ended: i64) -> Built {
        let cleared = ended + between(&mut self.rng, 5 * SECOND, 30 * SECOND);
        self.push(ended, Action::ContactState(id, State::Ended));
        self.push(cleared, Action::Clear(id));
        Built {
            end: cleared,
            window: None,
        }
    }

    fn unanswered(&mut self, id: u128, at: i64, state: State) -> Built {
        let available = at + between(&mut self.rng, 10 * SECOND, 40 * SECOND);
        self.push(at, Action::ContactState(id, state));
        self.push(available, Action::SetStatus(Status::Available));
        Built {
            end: available,
            window: None,
        }
    }

    fn inbound_voice(&mut self, t: i64) -> Built {
        let id = self.offer(t, Channel::Voice, Method::Inbound, State::Connecting);
        if self.rng.u32(..100) < 5 {
            let missed = t + between(&mut self.rng, 15 * SECOND, 21 * SECOND);
            return self.unanswered(id, missed, State::Missed);
        }
        let connected = t + between(&mut self.rng, 4 * SECOND, 20 * SECOND);
        let (ended, cleared) = self.converse(id, connected, 4 * MINUTE, Some(State::OnHold));
        Built {
            end: cleared,
            window: Some((connected, ended)),
        }
    }

    fn outbound_voice(&mut self, t: i64) -> Built {
        let id = self.offer(t, Channel::Voice, Method::Outbound, State::Connecting);
        let r = self.rng.u32(..100);
        if r < 3 {
            let error = t + between(&mut self.rng, 5 * SECOND, 15 * SECOND);
            return self.unanswered(id, error, State::Error);
        }
        if r < 7 {
            let ended = t + between(&mut self.rng, 20 * SECOND, 40 * SECOND);
            return self.never_connected(id, ended);
        }
        let connected = t + between(&mut self.rng, 5 * SECOND, 25 * SECOND);
        let (ended, cleared) = self.converse(id, connected, 3 * MINUTE, Some(State::OnHold));
        Built {
            end: cleared,
            window: Some((connected, ended)),
        }
    }

    fn callback(&mut self, t: i64) -> Built {
        let id = self.offer(t, Channel::Voice, Method::Callback, State::Incoming);
        let connecting = t + between(&mut self.rng, 3 * SECOND, 10 * SECOND);
        self.push(connecting, Action::ContactState(id, State::Connecting));
        if self.rng.u32(..100) < 15 {
            let ended = connecting + between(&mut self.rng, 10 * SECOND, 30 * SECOND);
            return self.never_connected(id, ended);
        }
        let connected = connecting + between(&mut self.rng, 5 * SECOND, 20 * SECOND);
        let (ended, cleared) = self.converse(id, connected, 4 * MINUTE, Some(State::OnHold));
        Built {
            end: cleared,
            window: Some((connected, ended)),
        }
    }

    /// One to three overlapping chats.
    fn chats(&mut self, t: i64) -> Built {
        let max = usize::from(PROFILES[self.cur.profile].slots[0]).clamp(1, 3);
        let n = match self.rng.u32(..100) {
            0..50 => 1,
            50..85 => 2,
            _ => 3,
        }
        .min(max);
        let mut offered = t;
        let mut end = t;
        let mut window = None;
        for i in 0..n {
            if i > 0 {
                offered += between(&mut self.rng, 20 * SECOND, 3 * MINUTE);
            }
            let id = self.offer(offered, Channel::Chat, Method::Api, State::Connecting);
            let r = self.rng.u32(..100);
            let built = if r < 3 {
                let at = offered + between(&mut self.rng, 2 * SECOND, 8 * SECOND);
                self.unanswered(id, at, State::Rejected)
            } else if r < 6 {
                let at = offered + between(&mut self.rng, 20 * SECOND, 25 * SECOND);
                self.unanswered(id, at, State::Missed)
            } else {
                let connected = offered + between(&mut self.rng, 2 * SECOND, 15 * SECOND);
                let (ended, cleared) = self.converse(id, connected, 9 * MINUTE, None);
                Built {
                    end: cleared,
                    window: Some((connected, ended)),
                }
            };
            end = end.max(built.end);
            window = if n == 1 { built.window } else { None };
        }
        Built { end, window }
    }

    fn task(&mut self, t: i64) -> Built {
        let id = self.offer(t, Channel::Task, Method::Api, State::Connecting);
        if self.rng.u32(..100) < 3 {
            let at = t + between(&mut self.rng, 3 * SECOND, 15 * SECOND);
            return self.unanswered(id, at, State::Rejected);
        }
        let connected = t + between(&mut self.rng, 3 * SECOND, 15 * SECOND);
        let (ended, cleared) = self.converse(id, connected, 12 * MINUTE, Some(State::Paused));
        Built {
            end: cleared,
            window: Some((connected, ended)),
        }
    }

    // -------------------------------------------------------------------------- output

    fn snapshot<'a>(&'a self, snap: &'a Snap, groups: &'a [Group]) -> SnapshotOut<'a> {
        let profile = &PROFILES[snap.profile];
        let mut used = [0u8; 3];
        for c in &snap.contacts {
            used[match c.channel {
                Channel::Chat => 0,
                Channel::Task => 1,
                Channel::Voice => 2,
            }] += 1;
        }
        let slot = |i: usize, channel| Slot {
            available: profile.slots[i].saturating_sub(used[i]),
            channel,
            maximum: profile.slots[i],
        };
        let level = |path: &[usize; 5], depth: usize, i: usize| {
            if i < depth { groups.get(path[i]) } else { None }
        };
        SnapshotOut {
            status: StatusOut {
                arn: snap.status.arn(),
                name: snap.status.name(),
                start: Ts(snap.status_start),
                kind: snap.status.kind(),
            },
            next: snap.next.map(|(status, at)| NextOut {
                arn: status.arn(),
                name: status.name(),
                enqueued: Ts(at),
            }),
            configuration: ConfigurationOut {
                hierarchy: self.hierarchy.as_ref().map(|(path, depth)| HierarchyOut {
                    level1: level(path, *depth, 0),
                    level2: level(path, *depth, 1),
                    level3: level(path, *depth, 2),
                    level4: level(path, *depth, 3),
                    level5: level(path, *depth, 4),
                }),
                first_name: self.first_name,
                last_name: self.last_name,
                routing_profile: RoutingProfileOut {
                    arn: profile.arn,
                    name: profile.name,
                    concurrency: [slot(0, "CHAT"), slot(1, "TASK"), slot(2, "VOICE")],
                    default_outbound_queue: &QUEUES[OUTBOUND_QUEUE],
                    inbound_queues: Inbound(profile.inbound),
                },
                username: &self.username,
                proficiencies: &self.proficiencies,
            },
            contacts: Contacts(&snap.contacts),
        }
    }

    fn event<'a>(
        &'a self,
        kind: &'static str,
        at: i64,
        event_id: u128,
        previous: Option<SnapshotOut<'a>>,
        groups: &'a [Group],
    ) -> EventOut<'a> {
        EventOut {
            account: ACCOUNT,
            agent_arn: &self.arn,
            current: self.snapshot(&self.cur, groups),
            event_id: Uuid(event_id),
            timestamp: Ts(at),
            event_type: kind,
            instance: INSTANCE,
            previous,
            version: VERSION,
        }
    }
}

// ------------------------------------------------------------------------------ serialization

/// Milliseconds since the epoch, written `2026-11-02T13:00:04.645Z`.
#[derive(Clone, Copy, Debug)]
struct Ts(i64);

/// Days since 1970-01-01 → (year, month, day) (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn digits(buf: &mut [u8], mut value: u64) {
    for b in buf.iter_mut().rev() {
        *b = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

impl Ts {
    /// The 24 bytes of the timestamp, for years 0 to 9999.
    fn format(self) -> Option<[u8; 24]> {
        let days = self.0.div_euclid(86_400_000);
        let ms = self.0.rem_euclid(86_400_000) as u64;
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return None;
        }
        let mut b = *b"0000-00-00T00:00:00.000Z";
        digits(&mut b[0..4], year as u64);
        digits(&mut b[5..7], u64::from(month));
        digits(&mut b[8..10], u64::from(day));
        digits(&mut b[11..13], ms / 3_600_000);
        digits(&mut b[14..16], ms / 60_000 % 60);
        digits(&mut b[17..19], ms / 1000 % 60);
        digits(&mut b[20..23], ms % 1000);
        Some(b)
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some(bytes) = self.format()
            && let Ok(text) = std::str::from_utf8(&bytes)
        {
            return s.serialize_str(text);
        }
        match DateTime::from_timestamp_millis(self.0) {
            Some(t) => s.collect_str(&t.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
            None => s.serialize_none(),
        }
    }
}

/// A UUID, written in lower-case hex with dashes.
#[derive(Clone, Copy, Debug)]
struct Uuid(u128);

impl Uuid {
    fn format(self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut nibble = 32;
        for (i, b) in out.iter_mut().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                continue;
            }
            nibble -= 1;
            *b = HEX[((self.0 >> (nibble * 4)) & 0xF) as usize];
        }
        out
    }
}

impl std::fmt::Display for Uuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes = self.format();
        f.write_str(std::str::from_utf8(&bytes).map_err(|_| std::fmt::Error)?)
    }
}

impl Serialize for Uuid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes = self.format();
        match std::str::from_utf8(&bytes) {
            Ok(text) => s.serialize_str(text),
            Err(_) => s.collect_str(self),
        }
    }
}

#[derive(Serialize)]
struct EventOut<'a> {
    #[serde(rename = "AWSAccountId")]
    account: &'static str,
    #[serde(rename = "AgentARN")]
    agent_arn: &'a str,
    #[serde(rename = "CurrentAgentSnapshot")]
    current: SnapshotOut<'a>,
    #[serde(rename = "EventId")]
    event_id: Uuid,
    #[serde(rename = "EventTimestamp")]
    timestamp: Ts,
    #[serde(rename = "EventType")]
    event_type: &'static str,
    #[serde(rename = "InstanceARN")]
    instance: &'static str,
    #[serde(rename = "PreviousAgentSnapshot")]
    previous: Option<SnapshotOut<'a>>,
    #[serde(rename = "Version")]
    version: &'static str,
}

#[derive(Serialize)]
struct SnapshotOut<'a> {
    #[serde(rename = "AgentStatus")]
    status: StatusOut,
    #[serde(rename = "NextAgentStatus")]
    next: Option<NextOut>,
    #[serde(rename = "Configuration")]
    configuration: ConfigurationOut<'a>,
    #[serde(rename = "Contacts")]
    contacts: Contacts<'a>,
}

#[derive(Serialize)]
struct StatusOut {
    #[serde(rename = "ARN")]
    arn: &'static str,
    #[serde(rename = "Name")]
    name: &'static str,
    #[serde(rename = "StartTimestamp")]
    start: Ts,
    #[serde(rename = "Type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct NextOut {
    #[serde(rename = "ARN")]
    arn: &'static str,
    #[serde(rename = "Name")]
    name: &'static str,
    #[serde(rename = "EnqueuedTimestamp")]
    enqueued: Ts,
}

#[derive(Serialize)]
struct ConfigurationOut<'a> {
    #[serde(rename = "AgentHierarchyGroups")]
    hierarchy: Option<HierarchyOut<'a>>,
    #[serde(rename = "FirstName")]
    first_name: &'a str,
    #[serde(rename = "LastName")]
    last_name: &'a str,
    #[serde(rename = "RoutingProfile")]
    routing_profile: RoutingProfileOut<'a>,
    #[serde(rename = "Username")]
    username: &'a str,
    #[serde(rename = "Proficiencies")]
    proficiencies: &'a [Proficiency],
}

#[derive(Serialize)]
struct HierarchyOut<'a> {
    #[serde(rename = "Level1", skip_serializing_if = "Option::is_none")]
    level1: Option<&'a Group>,
    #[serde(rename = "Level2", skip_serializing_if = "Option::is_none")]
    level2: Option<&'a Group>,
    #[serde(rename = "Level3", skip_serializing_if = "Option::is_none")]
    level3: Option<&'a Group>,
    #[serde(rename = "Level4", skip_serializing_if = "Option::is_none")]
    level4: Option<&'a Group>,
    #[serde(rename = "Level5", skip_serializing_if = "Option::is_none")]
    level5: Option<&'a Group>,
}

#[derive(Serialize)]
struct RoutingProfileOut<'a> {
    #[serde(rename = "ARN")]
    arn: &'static str,
    #[serde(rename = "Name")]
    name: &'static str,
    #[serde(rename = "Concurrency")]
    concurrency: [Slot; 3],
    #[serde(rename = "DefaultOutboundQueue")]
    default_outbound_queue: &'a QueueDef,
    #[serde(rename = "InboundQueues")]
    inbound_queues: Inbound,
}

#[derive(Serialize)]
struct Slot {
    #[serde(rename = "AvailableSlots")]
    available: u8,
    #[serde(rename = "Channel")]
    channel: &'static str,
    #[serde(rename = "MaximumSlots")]
    maximum: u8,
}

/// A routing profile's inbound queues, as indices into [`QUEUES`].
struct Inbound(&'static [usize]);

impl Serialize for Inbound {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().filter_map(|&q| QUEUES.get(q)))
    }
}

struct Contacts<'a>(&'a [Contact]);

impl Serialize for Contacts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|c| {
            let queue = &QUEUES[c.queue];
            ContactOut {
                channel: c.channel,
                connected_at: c.connected_at.map(Ts),
                id: Uuid(c.id),
                initial_id: None,
                method: c.method,
                queue: QueueRef {
                    arn: queue.arn,
                    name: queue.name,
                },
                queue_ts: c.queue_ts.map(Ts),
                state: c.state,
                state_start: Ts(c.state_start),
            }
        }))
    }
}

#[derive(Serialize)]
struct ContactOut {
    #[serde(rename = "Channel")]
    channel: Channel,
    #[serde(rename = "ConnectedToAgentTimestamp")]
    connected_at: Option<Ts>,
    #[serde(rename = "ContactId")]
    id: Uuid,
    #[serde(rename = "InitialContactId")]
    initial_id: Option<Uuid>,
    #[serde(rename = "InitiationMethod")]
    method: Method,
    #[serde(rename = "Queue")]
    queue: QueueRef,
    #[serde(rename = "QueueTimestamp")]
    queue_ts: Option<Ts>,
    #[serde(rename = "State")]
    state: State,
    #[serde(rename = "StateStartTimestamp")]
    state_start: Ts,
}

#[derive(Serialize)]
struct QueueRef {
    #[serde(rename = "ARN")]
    arn: &'static str,
    #[serde(rename = "Name")]
    name: &'static str,
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{Datelike, Timelike};

    use super::*;
    use agent_audit::event::RawEvent;

    fn options(agents: usize, days: u32, seed: u64) -> SynthOptions {
        SynthOptions {
            agents,
            days,
            start: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            seed,
            zone: chrono_tz::America::New_York,
        }
    }

    /// Every event as (timestamp, JSON bytes).
    fn generate(options: SynthOptions) -> Vec<(i64, Vec<u8>)> {
        let mut synth = Synth::new(options);
        let mut events = Vec::new();
        let mut buf = Vec::new();
        while let Some(at) = synth.next_event(&mut buf) {
            events.push((at, std::mem::take(&mut buf)));
        }
        events
    }

    /// One sample shared by the tests that only read it: 16 agents over 2 days.
    fn sample() -> &'static [(i64, Vec<u8>)] {
        static SAMPLE: std::sync::OnceLock<Vec<(i64, Vec<u8>)>> = std::sync::OnceLock::new();
        SAMPLE.get_or_init(|| generate(options(16, 2, 1)))
    }

    fn parse_ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn same_seed_same_bytes() {
        let a = generate(options(3, 1, 7));
        let b = generate(options(3, 1, 7));
        assert!(!a.is_empty());
        assert!(a == b);
        let c = generate(options(3, 1, 8));
        assert!(a != c);
    }

    #[test]
    fn agents_do_not_depend_on_each_other() {
        // An agent's events are the same whether or not others are simulated with it.
        let arn = |e: &[u8]| {
            serde_json::from_slice::<RawEvent>(e)
                .unwrap()
                .agent_arn
                .as_str()
                .to_owned()
        };
        let one = generate(options(1, 2, 3));
        let many = generate(options(3, 2, 3));
        let first = arn(&one[0].1);
        let mine: Vec<_> = many.into_iter().filter(|(_, e)| arn(e) == first).collect();
        assert!(one == mine);
    }

    #[test]
    fn ordered_well_formed_and_sized() {
        let events = sample();
        assert!(events.len() > 1000, "{} events", events.len());
        let mut last = i64::MIN;
        let mut total = 0;
        let mut kinds = HashMap::new();
        for (at, bytes) in events {
            assert!(*at >= last, "out of order");
            last = *at;
            total += bytes.len();
            let event: RawEvent = serde_json::from_slice(bytes).unwrap();
            let ts = event.event_timestamp.as_str();
            assert_eq!(ts.len(), 24, "{ts}");
            assert!(ts.ends_with('Z'));
            assert_eq!(parse_ms(ts), *at);
            let kind = event.event_type.as_ref().unwrap().as_str().to_owned();
            assert_eq!(event.previous.is_none(), kind == "LOGIN");
            let current = event.current.as_ref().unwrap();
            let configuration = current.configuration.as_ref().unwrap().parse().unwrap();
            let login = configuration.username.as_ref().unwrap();
            let number: usize = login
                .as_str()
                .strip_prefix("agent")
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                (1..=16).contains(&number) && login.as_str().len() == 10,
                "{login:?}"
            );
            let id = event.event_id.as_ref().unwrap().as_str().to_owned();
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "4");
            *kinds.entry(kind).or_insert(0) += 1;
        }
        for kind in ["LOGIN", "LOGOUT", "STATE_CHANGE", "HEART_BEAT"] {
            assert!(
                kinds.get(kind).copied().unwrap_or(0) > 0,
                "no {kind}: {kinds:?}"
            );
        }
        let mean = total / events.len();
        assert!((3000..=7000).contains(&mean), "mean event size {mean}");
    }

    #[test]
    fn previous_snapshot_is_the_last_current_one() {
        let events = generate(options(2, 1, 5));
        let mut last: HashMap<String, serde_json::Value> = HashMap::new();
        for (_, bytes) in &events {
            let mut value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            let arn = value["AgentARN"].as_str().unwrap().to_owned();
            let current = value["CurrentAgentSnapshot"].take();
            let previous = value["PreviousAgentSnapshot"].take();
            if value["EventType"] == "LOGIN" {
                assert!(previous.is_null());
            } else {
                assert_eq!(
                    Some(&previous),
                    last.get(&arn),
                    "{}",
                    value["EventTimestamp"]
                );
            }
            if value["EventType"] == "HEART_BEAT" {
                assert_eq!(previous, current);
            }
            last.insert(arn, current);
        }
    }

    #[test]
    fn heartbeats_fill_every_silence_while_logged_in() {
        let events = sample();
        // agent → (logged in, last event, logout time)
        let mut agents: HashMap<String, (bool, i64, Option<i64>)> = HashMap::new();
        let mut after_logout = 0;
        for (at, bytes) in events {
            let event: RawEvent = serde_json::from_slice(bytes).unwrap();
            let kind = event.event_type.as_ref().unwrap().as_str();
            let entry = agents
                .entry(event.agent_arn.as_str().to_owned())
                .or_insert((false, *at, None));
            if entry.0 {
                assert!(
                    at - entry.1 <= HEARTBEAT_MS,
                    "silence of {} ms",
                    at - entry.1
                );
            }
            if kind == "HEART_BEAT"
                && let Some(logout) = entry.2
            {
                assert!(!entry.0);
                assert!(at - logout <= AFTER_LOGOUT_MS);
                after_logout += 1;
            }
            match kind {
                "LOGIN" => *entry = (true, *at, None),
                "LOGOUT" => *entry = (false, *at, Some(*at)),
                _ => entry.1 = *at,
            }
        }
        assert!(after_logout > 0);
        // Heartbeats continue for an hour after the last logout, then stop.
        for (logged_in, last, logout) in agents.values() {
            assert!(!logged_in);
            let logout = logout.unwrap();
            assert!(
                last - logout > AFTER_LOGOUT_MS - HEARTBEAT_MS && last - logout <= AFTER_LOGOUT_MS
            );
        }
    }

    #[test]
    fn a_night_shift_crosses_local_midnight() {
        let zone = chrono_tz::America::New_York;
        let local = |ms: i64| {
            DateTime::from_timestamp_millis(ms)
                .unwrap()
                .with_timezone(&zone)
        };
        let events = sample();
        let mut logins: HashMap<String, i64> = HashMap::new();
        let mut night = 0;
        let mut statuses = HashMap::new();
        for (at, bytes) in events {
            let event: RawEvent = serde_json::from_slice(bytes).unwrap();
            let arn = event.agent_arn.as_str().to_owned();
            match event.event_type.as_ref().unwrap().as_str() {
                "LOGIN" => {
                    logins.insert(arn, *at);
                }
                "LOGOUT" => {
                    let login = local(logins[&arn]);
                    let logout = local(*at);
                    if logout.date_naive() != login.date_naive() {
                        assert!((20..24).contains(&login.hour()), "{login}");
                        assert_eq!(logout.date_naive(), login.date_naive().succ_opt().unwrap());
                        assert!(logout.day() != login.day());
                        night += 1;
                    } else {
                        assert!((7..10).contains(&login.hour()), "{login}");
                    }
                }
                _ => {}
            }
            let current = event.current.unwrap();
            let name = current.status.unwrap().name.unwrap().as_str().to_owned();
            *statuses.entry(name).or_insert(0) += 1;
        }
        assert!(night > 0);
        for name in ["Available", "Offline", "Break", "Lunch"] {
            assert!(statuses.contains_key(name), "{statuses:?}");
        }
    }

    #[test]
    fn timestamps_and_uuids_format() {
        let t = parse_ms("2026-11-02T13:00:04.645Z");
        assert_eq!(
            serde_json::to_string(&Ts(t)).unwrap(),
            "\"2026-11-02T13:00:04.645Z\""
        );
        assert_eq!(
            serde_json::to_string(&Ts(0)).unwrap(),
            "\"1970-01-01T00:00:00.000Z\""
        );
        let t = parse_ms("1969-12-31T23:59:59.999Z");
        assert_eq!(
            serde_json::to_string(&Ts(t)).unwrap(),
            "\"1969-12-31T23:59:59.999Z\""
        );
        let t = parse_ms("2024-02-29T23:59:59.001Z");
        assert_eq!(
            serde_json::to_string(&Ts(t)).unwrap(),
            "\"2024-02-29T23:59:59.001Z\""
        );
        assert_eq!(
            Uuid(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef).to_string(),
            "01234567-89ab-cdef-0123-456789abcdef"
        );
        let mut rng = Rng::with_seed(1);
        let id = Uuid(uuid_v4(&mut rng)).to_string();
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    }
}
