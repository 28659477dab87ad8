//! `--resume FILE`: the users an earlier run's JSON Lines already hold.
//! A run killed mid-write leaves at most one torn last line; it is not
//! JSON, so it is skipped and that user is probed again.

use super::input;
use super::summary::Outcome;
use crate::report::Verdict;
use serde_json::Value;
use std::collections::HashMap;

/// Outcomes by user key ([`input::key`]).
#[derive(Debug, Default)]
pub struct Done {
    pub by_key: HashMap<String, Outcome>,
    /// Lines that were not a complete JSON record.
    pub torn_lines: usize,
}

fn verdict(v: &Value) -> Option<Verdict> {
    match v.as_str()? {
        "pass" => Some(Verdict::Pass),
        "warn" => Some(Verdict::Warn),
        "fail" => Some(Verdict::Fail),
        _ => None,
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the user records of `text`.
pub fn read(text: &str) -> Done {
    let mut done = Done::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            done.torn_lines += 1;
            continue;
        };
        if v["type"] != "user" {
            continue;
        }
        let d = &v["data"];
        let (Some(user), Some(verdict)) = (d["user"].as_str(), verdict(&d["verdict"])) else {
            done.torn_lines += 1;
            continue;
        };
        let authz = d["authz"].as_str().map(str::to_string);
        let outcome = Outcome {
            line: d["line"].as_u64().unwrap_or(0) as usize,
            user: user.to_string(),
            email: d["email"].as_str().map(str::to_string),
            authz: authz.clone(),
            verdict,
            failures: strings(&d["failures"]),
            warnings: strings(&d["warnings"]),
            reason: d["reason"].as_str().map(str::to_string),
            login_ms: d["login_ms"].as_u64(),
            total_ms: d["total_ms"].as_u64().unwrap_or(0),
            attempts: d["attempts"].as_u64().unwrap_or(1) as u32,
            resumed: true,
        };
        done.by_key
            .insert(input::key(user, authz.as_deref()), outcome);
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_records_are_read_and_a_torn_line_is_skipped() {
        let text = concat!(
            r#"{"type":"user","data":{"line":2,"user":"Alice","verdict":"pass","failures":[],"warnings":[],"login_ms":12,"total_ms":40,"attempts":1}}"#,
            "\n",
            r#"{"type":"row","data":{"line":3,"kind":"malformed","message":"x"}}"#,
            "\n",
            r#"{"type":"user","data":{"line":4,"user":"admin","authz":"bob","verdict":"fail","failures":["auth.login"]}}"#,
            "\n",
            r#"{"type":"user","data":{"line":5,"user":"car"#,
        );
        let done = read(text);
        assert_eq!(done.by_key.len(), 2);
        assert_eq!(done.torn_lines, 1);
        let alice = &done.by_key["alice"];
        assert_eq!(
            (alice.verdict, alice.login_ms, alice.resumed),
            (Verdict::Pass, Some(12), true)
        );
        assert_eq!(
            done.by_key[&input::key("ADMIN", Some("Bob"))].failures,
            ["auth.login"]
        );
    }
}
