//! The `explain` report: one message's kind, authenticity, extracted fields and every
//! reason, as JSON (a stable, documented shape for scripts) or as text for people. Pure:
//! takes what `extract` and `score` produced.

use serde_json::{json, Value};

use crate::model::{Classified, Judgement};

/// The JSON object for one message. Field names and value sets are a public interface
/// (README documents them); add fields, never rename.
pub fn to_json(source: &str, c: &Classified, j: Option<&Judgement>) -> Value {
    let inv = c.invitation.as_ref();
    json!({
        "source": source,
        "kind": c.kind.as_str(),
        "authenticity": c.authenticity.as_str(),
        "subject": c.subject,
        "from": c.from,
        "message_id": c.message_id,
        "inviter": inv.map(|i| json!({
            "name": i.inviter.name,
            "headline": i.inviter.headline,
            "location": i.inviter.location,
            "profile_url": i.inviter.profile_url,
        })),
        "mutual_connections": inv.and_then(|i| i.mutual_connections),
        "note_status": inv.map(|i| i.note_status.as_str()),
        "note": inv.and_then(|i| i.note.clone()),
        "invitation_id": inv.and_then(|i| i.invitation_id.clone()),
        "accept_url": inv.and_then(|i| i.accept_url.clone()),
        "language": inv.and_then(|i| i.language.clone()),
        "template": inv.and_then(|i| i.template.clone()),
        "verdict": j.map(|j| j.verdict.as_str()),
        "score": j.and_then(|j| j.score),
        "reasons": j.map(|j| j.reasons.iter().map(|r| json!({
            "rule": r.rule, "weight": r.weight, "detail": r.detail,
        })).collect::<Vec<_>>()).unwrap_or_default(),
        "signals": c.signals,
    })
}

/// The error object for a message that could not be read at all.
pub fn error_json(source: &str, error: &str) -> Value {
    json!({ "source": source, "error": error })
}

/// Human-readable report.
pub fn to_text(source: &str, c: &Classified, j: Option<&Judgement>) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "== {source}");
    let _ = writeln!(s, "kind:          {}", c.kind.as_str());
    let _ = writeln!(s, "authenticity:  {}", c.authenticity.as_str());
    if let Some(subj) = &c.subject {
        let _ = writeln!(s, "subject:       {subj}");
    }
    if let Some(from) = &c.from {
        let _ = writeln!(s, "from:          {from}");
    }
    for sig in &c.signals {
        let _ = writeln!(s, "  · {sig}");
    }
    if let Some(i) = &c.invitation {
        let or_none = |o: &Option<String>| o.clone().unwrap_or_else(|| "(none)".into());
        let _ = writeln!(
            s,
            "inviter:       {}",
            if i.inviter.name.is_empty() {
                "(unknown)"
            } else {
                &i.inviter.name
            }
        );
        let _ = writeln!(s, "headline:      {}", or_none(&i.inviter.headline));
        let _ = writeln!(s, "location:      {}", or_none(&i.inviter.location));
        let _ = writeln!(
            s,
            "in common:     {}",
            i.mutual_connections
                .map(|n| n.to_string())
                .unwrap_or_else(|| "(not shown)".into())
        );
        let _ = writeln!(s, "note:          {}", i.note_status.as_str());
        if let Some(n) = &i.note {
            for line in n.lines() {
                let _ = writeln!(s, "               > {line}");
            }
        }
        let _ = writeln!(s, "language:      {}", or_none(&i.language));
        let _ = writeln!(s, "template:      {}", or_none(&i.template));
        let _ = writeln!(s, "invitation id: {}", or_none(&i.invitation_id));
    }
    if let Some(j) = j {
        match j.score {
            Some(sc) => {
                let _ = writeln!(s, "verdict:       {} (score {sc:+.2})", j.verdict.as_str());
            }
            None => {
                let _ = writeln!(s, "verdict:       {}", j.verdict.as_str());
            }
        }
        for r in &j.reasons {
            let _ = writeln!(s, "  {:+5.1}  {:<26} {}", r.weight, r.rule, r.detail);
        }
    }
    s
}
