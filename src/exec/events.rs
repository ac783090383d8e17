//! Progress events: one typed, versioned stream that every front-end consumes (the plain
//! progress line, JSON Lines, the TUI). Separate from logging.

use serde::Serialize;

/// Bumped when a field changes meaning or disappears (adding fields does not bump it).
pub const EVENTS_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// The plan is fixed and execution begins.
    Started {
        target: String,
        steps: usize,
        bytes_total: u64,
    },
    StepStarted {
        step: usize,
        steps: usize,
        name: String,
        description: String,
    },
    /// Bytes of the current step and of the whole run.
    Progress {
        step: usize,
        bytes_done: u64,
        bytes_total: u64,
        run_bytes_done: u64,
        run_bytes_total: u64,
        rate_bytes_per_sec: u64,
        eta_seconds: Option<u64>,
    },
    StepFinished {
        step: usize,
        name: String,
    },
    Warning {
        message: String,
    },
    Verified {
        partition: u32,
        label: String,
        method: String,
        digest: String,
    },
    Finished {
        target: String,
        seconds: f64,
    },
    Failed {
        error: String,
        table_written: bool,
    },
}

/// One JSON Lines record: `{"v":1,"event":"progress",…}`.
pub fn to_json_line(e: &Event) -> String {
    let mut v = serde_json::to_value(e).expect("events serialize");
    if let serde_json::Value::Object(m) = &mut v {
        let mut out = serde_json::Map::new();
        out.insert("v".into(), EVENTS_VERSION.into());
        out.extend(std::mem::take(m));
        return serde_json::Value::Object(out).to_string();
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_versioned_and_tagged() {
        let l = to_json_line(&Event::StepFinished { step: 2, name: "copy".into() });
        assert_eq!(l, r#"{"v":1,"event":"step-finished","step":2,"name":"copy"}"#);
    }
}
