//! The invariant the framing fuzz target checks (`fuzz/fuzz_targets/framing.rs`), kept
//! here, outside the library, so that a plain `cargo test` replays the checked-in corpus
//! through the very same function (`tests/integration/fuzz_corpus.rs`).
//!
//! From the fuzzer's bytes it builds a JSON-lines stream: a first valid record, then the
//! bytes as lines of garbage, with a sentinel record on a line of its own in the middle.
//! It reads the stream through the real pipeline (framing, the structural scan, event
//! parsing, classification) and checks that nothing panics and that both records are
//! found, whatever the garbage on the other lines. It also reads the raw bytes alone,
//! where only "no panic" can be asked.

use agent_audit::catalog::{Catalog, CatalogName, Classifier};
use agent_audit::store::{ReadOptions, Store};

const FIRST: &str = r#"{"AgentARN":"arn:aws:connect:us-east-1:1:instance/i/agent/first","EventId":"00000000-0000-4000-8000-000000000001","EventTimestamp":"2026-11-03T08:00:00.000Z","EventType":"LOGIN","CurrentAgentSnapshot":{"AgentStatus":{"ARN":"arn:s","Name":"Available","StartTimestamp":"2026-11-03T08:00:00.000Z","Type":"ROUTABLE"},"Configuration":{"Username":"first","FirstName":"F","LastName":"L"},"Contacts":[]}}"#;
const SENTINEL: &str = r#"{"AgentARN":"arn:aws:connect:us-east-1:1:instance/i/agent/sentinel","EventId":"00000000-0000-4000-8000-000000000002","EventTimestamp":"2026-11-03T09:00:00.000Z","EventType":"STATE_CHANGE","CurrentAgentSnapshot":{"AgentStatus":{"ARN":"arn:s","Name":"Lunch","StartTimestamp":"2026-11-03T09:00:00.000Z","Type":"CUSTOM"},"Configuration":{"Username":"sentinel","FirstName":"S","LastName":"L","AgentHierarchyGroups":{"Level1":{"ARN":"arn:g","Name":"G"}}},"Contacts":[{"ContactId":"c","Channel":"VOICE","InitiationMethod":"INBOUND","State":"CONNECTED","StateStartTimestamp":"2026-11-03T09:00:00.000Z","ConnectedToAgentTimestamp":"2026-11-03T09:00:00.000Z"}]}}"#;

/// Checks the framing invariant on one fuzz input; panics when it does not hold.
pub fn check_framing(data: &[u8]) {
    static CLASSIFIER: std::sync::OnceLock<Option<Classifier>> = std::sync::OnceLock::new();
    let classifier = CLASSIFIER.get_or_init(|| {
        Catalog::builtin(CatalogName::Connect)
            .ok()
            .map(Classifier::rules_only)
    });
    assert!(classifier.is_some(), "the built-in catalogue does not load");
    let Some(classifier) = classifier else { return };
    let options = ReadOptions::default();

    // The raw bytes, whatever they are: no panic, reading or classifying.
    let raw = Store::read_stream("fuzz", data, &options);
    assert!(raw.is_ok(), "a slice is read in full");
    if let Ok(raw) = raw {
        let _ = agent_audit::classify::classify(&raw, classifier);
    }

    let (before, after) = data.split_at(data.len() / 2);
    let mut stream = Vec::with_capacity(data.len() + FIRST.len() + SENTINEL.len() + 4);
    stream.extend_from_slice(FIRST.as_bytes());
    stream.push(b'\n');
    stream.extend_from_slice(before);
    stream.push(b'\n');
    stream.extend_from_slice(SENTINEL.as_bytes());
    stream.push(b'\n');
    stream.extend_from_slice(after);
    let store = Store::read_stream("fuzz", &stream[..], &options);
    assert!(store.is_ok(), "a slice is read in full");
    let Ok(store) = store else { return };
    let _ = agent_audit::classify::classify(&store, classifier);
    for login in ["first", "sentinel"] {
        assert!(
            store.agents.iter().any(|a| a.profile.login == login),
            "the `{login}` record was lost among {} bytes of garbage: {:?}",
            data.len(),
            String::from_utf8_lossy(&stream)
        );
    }
}
