//! SPEC §4: one test per row of the tier table, plus the rules around it (precedence
//! between contacts, the agent-status fallback, open enums, the connect-2026 labels).

use agent_audit::catalog::CatalogName;
use serde_json::Value;

use crate::support::*;

const CHANNELS: [&str; 4] = ["VOICE", "CHAT", "TASK", "EMAIL"];
const OUTBOUND: [&str; 4] = [
    "OUTBOUND",
    "EXTERNAL_OUTBOUND",
    "CAMPAIGN_PREVIEW",
    "AGENT_REPLY",
];
const INBOUND: [&str; 7] = [
    "INBOUND",
    "TRANSFER",
    "QUEUE_TRANSFER",
    "API",
    "WEBRTC_API",
    "CALLBACK",
    "SOMETHING_CONNECT_ADDS_LATER",
];

/// The label of an agent who is Available with these contacts.
fn label_with(catalog: CatalogName, contacts: Vec<Value>) -> String {
    let mut ev = event("agent", "STATE_CHANGE", "2026-11-03T09:00:00.000Z").status("Available");
    for c in contacts {
        ev = ev.contact(c);
    }
    let events = [
        event("agent", "LOGIN", "2026-11-03T08:00:00.000Z").status("Available"),
        ev,
    ];
    let report = report_with(catalog, &events, "agent", "2026-11-03", "UTC");
    report
        .rows
        .last()
        .map(|r| r.status.clone())
        .unwrap_or_default()
}

fn label(contacts: Vec<Value>) -> String {
    label_with(CatalogName::Connect, contacts)
}

/// The label of one contact on each channel.
fn per_channel(
    catalog: CatalogName,
    method: &str,
    state: &str,
    was_connected: bool,
) -> Vec<String> {
    CHANNELS
        .iter()
        .map(|ch| {
            let mut c = contact("c1", ch, method, state);
            if was_connected {
                c = connected(c);
            }
            label_with(catalog, vec![c])
        })
        .collect()
}

fn row(method: &str, state: &str, was_connected: bool) -> Vec<String> {
    per_channel(CatalogName::Connect, method, state, was_connected)
}

#[test]
fn tier1_error_is_telecom_issue() {
    for method in INBOUND.iter().chain(&OUTBOUND) {
        for was_connected in [false, true] {
            assert_eq!(
                row(method, "ERROR", was_connected),
                ["Telecom issue"; 4],
                "{method}"
            );
        }
    }
}

#[test]
fn tier1_ended_never_connected_outbound_is_telecom_issue() {
    for method in OUTBOUND {
        assert_eq!(
            row(method, "ENDED", false),
            ["Telecom issue"; 4],
            "{method}"
        );
    }
}

#[test]
fn tier2_missed() {
    for method in INBOUND.iter().chain(&OUTBOUND) {
        assert_eq!(
            row(method, "MISSED", false),
            [
                "Agent Disconnected",
                "Contact Missed",
                "Contact Missed",
                "Contact Missed"
            ]
        );
    }
}

#[test]
fn tier2_rejected() {
    for method in INBOUND.iter().chain(&OUTBOUND) {
        assert_eq!(
            row(method, "REJECTED", false),
            [
                "Agent Disconnected",
                "Contact Missed",
                "Rejected",
                "Rejected"
            ]
        );
    }
}

#[test]
fn tier2_ended_never_connected_callback_is_missed_call_agent() {
    assert_eq!(row("CALLBACK", "ENDED", false), ["Missed Call Agent"; 4]);
}

#[test]
fn tier3_offered_outbound_or_dialling_a_callback_is_calling_customer() {
    for method in OUTBOUND {
        for state in ["CONNECTING", "INCOMING", "PENDING"] {
            assert_eq!(
                row(method, state, false),
                ["Calling Customer"; 4],
                "{method} {state}"
            );
        }
    }
    assert_eq!(
        row("CALLBACK", "CONNECTING", false),
        ["Calling Customer"; 4]
    );
    // A callback being offered (INCOMING, PENDING) is not dialling yet: tier 5.
    assert_eq!(row("CALLBACK", "INCOMING", false)[0], "Connecting Agent");
}

#[test]
fn tier3_connected_inbound() {
    for method in INBOUND {
        for state in ["CONNECTED", "CONNECTED_ONHOLD"] {
            assert_eq!(
                row(method, state, true),
                ["Connected", "Busy", "Busy", "Busy"],
                "{method} {state}"
            );
        }
    }
}

#[test]
fn tier3_connected_outbound_is_busy() {
    for method in OUTBOUND {
        for state in ["CONNECTED", "CONNECTED_ONHOLD"] {
            assert_eq!(row(method, state, true), ["Busy"; 4], "{method} {state}");
        }
    }
}

#[test]
fn tier3_paused() {
    for method in ["API", "INBOUND", "OUTBOUND"] {
        assert_eq!(row(method, "PAUSED", true), ["Paused"; 4]);
    }
}

#[test]
fn tier4_ended_otherwise_is_after_contact_work() {
    for method in INBOUND.iter().chain(&OUTBOUND) {
        assert_eq!(
            row(method, "ENDED", true),
            ["After contact work"; 4],
            "{method}"
        );
    }
    // Never connected but inbound-type (and not a callback): still after contact work.
    assert_eq!(row("INBOUND", "ENDED", false), ["After contact work"; 4]);
}

#[test]
fn tier5_offered_inbound() {
    for method in [
        "INBOUND",
        "TRANSFER",
        "API",
        "QUEUE_TRANSFER",
        "SOMETHING_CONNECT_ADDS_LATER",
    ] {
        for state in ["INCOMING", "PENDING", "CONNECTING"] {
            assert_eq!(
                row(method, state, false),
                [
                    "Connecting Agent",
                    "Joining Customer",
                    "Connecting Agent",
                    "Connecting Agent"
                ],
                "{method} {state}"
            );
        }
    }
}

#[test]
fn unknown_contact_state_is_ignored() {
    let c = contact("c1", "VOICE", "INBOUND", "WRAPPING_UP_SOMEHOW");
    assert_eq!(label(vec![c]), "Available");
}

#[test]
fn the_contact_with_the_smallest_tier_decides() {
    // ACW (4) on one chat, connected (3) on another: Busy.
    let acw = connected(contact("a", "CHAT", "API", "ENDED"));
    let busy = connected(contact("b", "CHAT", "API", "CONNECTED"));
    assert_eq!(label(vec![acw.clone(), busy.clone()]), "Busy");
    assert_eq!(label(vec![busy, acw]), "Busy");
    // A missed chat (2) beats a ringing call (5).
    let ringing = contact("c", "VOICE", "INBOUND", "CONNECTING");
    let missed = contact("d", "CHAT", "API", "MISSED");
    assert_eq!(label(vec![ringing, missed]), "Contact Missed");
}

#[test]
fn equal_tiers_take_the_contact_listed_first() {
    let voice = connected(contact("v", "VOICE", "INBOUND", "CONNECTED"));
    let chat = connected(contact("c", "CHAT", "API", "CONNECTED"));
    assert_eq!(label(vec![voice.clone(), chat.clone()]), "Connected");
    assert_eq!(label(vec![chat, voice]), "Busy");
}

#[test]
fn without_a_contact_label_the_agent_status_name_is_the_label() {
    let events = [
        event("agent", "LOGIN", "2026-11-03T08:00:00.000Z").status("Offline"),
        // A renamed "Available" keeps its own name.
        event("agent", "STATE_CHANGE", "2026-11-03T08:01:00.000Z")
            .status_typed("Ready", Some("ROUTABLE")),
        event("agent", "STATE_CHANGE", "2026-11-03T09:00:00.000Z").status("Lunch"),
        event("agent", "STATE_CHANGE", "2026-11-03T10:00:00.000Z")
            .status_typed("Gone home", Some("OFFLINE")),
    ];
    let r = report(&events, "agent", "2026-11-03", "UTC");
    let statuses: Vec<&str> = r.rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["Offline", "Ready", "Lunch", "Gone home"]);
    // The renamed OFFLINE status is still offline: the last row is not `open`.
    assert_eq!(r.rows[3].flags.names(), ["truncated"]);
    // Lunch has no definition in the default catalogue: reported once as a custom status.
    let undefined: Vec<&String> = r
        .warnings
        .iter()
        .filter(|w| w.contains("undefined custom status"))
        .collect();
    assert_eq!(undefined.len(), 1, "{:?}", r.warnings);
    assert!(
        undefined[0].contains("Lunch") && !undefined[0].contains("Ready"),
        "{undefined:?}"
    );
}

#[test]
fn a_missing_status_type_is_inferred_from_the_name() {
    let offline = [
        event("agent", "LOGIN", "2026-11-03T08:00:00.000Z").status_typed("Available", None),
        event("agent", "LOGOUT", "2026-11-03T09:00:00.000Z").status_typed("Offline", None),
    ];
    let r = report(&offline, "agent", "2026-11-03", "UTC");
    assert_eq!(
        rows(&r).last().map(String::as_str),
        Some("Offline 09:00:00.000-00:00:00.000 truncated")
    );

    let custom = [event("agent", "LOGIN", "2026-11-03T08:00:00.000Z").status_typed("Coffee", None)];
    let r = report(&custom, "agent", "2026-11-03", "UTC");
    // Coffee is CUSTOM, not OFFLINE: the data ended while logged in.
    assert_eq!(
        rows(&r).last().map(String::as_str),
        Some("Coffee 08:00:00.000-00:00:00.000 truncated;open")
    );
}

#[test]
fn tasks_channel_means_task() {
    assert_eq!(
        label(vec![contact("t", "TASKS", "API", "REJECTED")]),
        "Rejected"
    );
    assert_eq!(
        label(vec![contact("t", "TASKS", "API", "CONNECTING")]),
        "Connecting Agent"
    );
}

#[test]
fn connect_2026_changes_only_labels() {
    let c26 = |method, state, was_connected| {
        per_channel(CatalogName::Connect2026, method, state, was_connected)
    };
    for method in INBOUND.iter().chain(&OUTBOUND) {
        assert_eq!(
            c26(method, "CONNECTED_ONHOLD", true),
            ["On Hold"; 4],
            "{method}"
        );
    }
    assert_eq!(
        c26("INBOUND", "CONNECTED", true),
        ["Call Connected", "Connected", "Connected", "Connected"]
    );
    assert_eq!(c26("OUTBOUND", "CONNECTED", true), ["Busy"; 4]);
    assert_eq!(
        c26("INBOUND", "CONNECTING", false),
        [
            "Connecting Agent",
            "Connecting",
            "Connecting Agent",
            "Connecting Agent"
        ]
    );
    // Everything else is as in `connect`.
    for (method, state, was_connected) in [
        ("INBOUND", "MISSED", false),
        ("API", "REJECTED", false),
        ("OUTBOUND", "ENDED", false),
        ("CALLBACK", "ENDED", false),
        ("INBOUND", "ENDED", true),
        ("OUTBOUND", "CONNECTING", false),
        ("API", "PAUSED", true),
        ("INBOUND", "ERROR", false),
    ] {
        assert_eq!(
            c26(method, state, was_connected),
            row(method, state, was_connected),
            "{method} {state}"
        );
    }
}

#[test]
fn every_label_the_shipped_rules_produce_has_a_definition() {
    for name in CatalogName::ALL {
        let catalog = agent_audit::catalog::Catalog::builtin(name).unwrap();
        for rule in catalog.rules() {
            assert!(
                catalog.definition(&rule.label, None).is_some(),
                "{name}: `{}` has no definition",
                rule.label
            );
        }
    }
}
