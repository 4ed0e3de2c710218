//! Plain domain types shared by every layer: what a message is, who invites, what we
//! concluded and why. Imports nothing from the rest of the crate, so the pure core and the
//! adapters can both depend on it without depending on each other.

use serde::{Deserialize, Serialize};

/// What a message is, from the mailbox owner's point of view. Exactly one per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A LinkedIn connection invitation addressed to the owner.
    Invitation,
    /// LinkedIn reminding the owner of a pending invitation.
    Reminder,
    /// Genuine LinkedIn mail that is not an invitation (jobs, InMail, accepted notices, ...).
    OtherLinkedin,
    /// Presents itself as LinkedIn but is not authentic.
    Phishing,
    /// Anything else, including a colleague forwarding LinkedIn mail.
    NotLinkedin,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invitation => "invitation",
            Kind::Reminder => "reminder",
            Kind::OtherLinkedin => "other_linkedin",
            Kind::Phishing => "phishing",
            Kind::NotLinkedin => "not_linkedin",
        }
    }

    /// Invitations and reminders carry an inviter worth judging.
    pub fn is_invitation_like(self) -> bool {
        matches!(self, Kind::Invitation | Kind::Reminder)
    }
}

/// Whether a trusted `Authentication-Results` header vouches for LinkedIn as the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authenticity {
    /// DKIM pass aligned with linkedin.com, or DMARC pass for linkedin.com.
    Pass,
    /// A trusted result says fail, or passes only for another domain.
    Fail,
    /// No trusted result (exported mail, a provider that adds none).
    None,
}

impl Authenticity {
    pub fn as_str(self) -> &'static str {
        match self {
            Authenticity::Pass => "pass",
            Authenticity::Fail => "fail",
            Authenticity::None => "none",
        }
    }
}

/// Whether the inviter wrote something of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteStatus {
    /// A personal note, not one of LinkedIn's stock sentences.
    Present,
    /// LinkedIn's own filler ("I'd like to join your LinkedIn network.").
    DefaultText,
    /// The mail has no message block at all.
    Absent,
    /// A reminder that does not show the original message: we cannot tell.
    Unknown,
}

impl NoteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteStatus::Present => "present",
            NoteStatus::DefaultText => "default_text",
            NoteStatus::Absent => "absent",
            NoteStatus::Unknown => "unknown",
        }
    }

    /// No personal words from the inviter (absent or LinkedIn's filler).
    pub fn is_no_note(self) -> bool {
        matches!(self, NoteStatus::DefaultText | NoteStatus::Absent)
    }
}

/// The decision shown in the digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accept,
    Review,
    Ignore,
    Suspicious,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accept => "accept",
            Verdict::Review => "review",
            Verdict::Ignore => "ignore",
            Verdict::Suspicious => "suspicious",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        match s {
            "accept" => Some(Verdict::Accept),
            "review" => Some(Verdict::Review),
            "ignore" => Some(Verdict::Ignore),
            "suspicious" => Some(Verdict::Suspicious),
            _ => None,
        }
    }

    pub const ALL: [Verdict; 4] = [
        Verdict::Accept,
        Verdict::Review,
        Verdict::Ignore,
        Verdict::Suspicious,
    ];
}

/// The person who sent the invitation, as LinkedIn shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inviter {
    pub name: String,
    pub headline: Option<String>,
    pub location: Option<String>,
    /// Profile link with tracking parameters stripped. Treat as a secret in logs.
    pub profile_url: Option<String>,
}

/// Everything read out of an invitation or reminder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationData {
    pub inviter: Inviter,
    pub mutual_connections: Option<u32>,
    pub note_status: NoteStatus,
    pub note: Option<String>,
    pub invitation_id: Option<String>,
    /// Accept link with tracking parameters stripped. Treat as a secret in logs.
    pub accept_url: Option<String>,
    /// ISO 639-1 code of the note or the template, when evident.
    pub language: Option<String>,
    /// LinkedIn template name (`email_m2m_invite_single_01`, ...), when known.
    pub template: Option<String>,
}

/// One rule that fired while judging an invitation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub rule: String,
    pub weight: f64,
    pub detail: String,
}

/// The outcome of scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    pub verdict: Verdict,
    /// None for phishing, which is never scored.
    pub score: Option<f64>,
    pub reasons: Vec<Reason>,
}

/// Identity of a stored message: where it came from. Used for dedupe and logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageKey {
    pub account: String,
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uid: u32,
}

/// The result of reading one message: what it is, how sure we are it came from LinkedIn,
/// and, for invitations and reminders (and phishing that imitates one), what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classified {
    pub kind: Kind,
    pub authenticity: Authenticity,
    pub message_id: Option<String>,
    pub subject: Option<String>,
    /// The From header as a person would read it (`Name <addr>`), decoded.
    pub from: Option<String>,
    /// Date header as Unix seconds, when it parses.
    pub date: Option<i64>,
    /// Why the message got its kind, one short phrase each; `explain` prints them.
    pub signals: Vec<String>,
    pub invitation: Option<InvitationData>,
}

impl Classified {
    /// Key that identifies the same invitation across an invitation mail and its reminders:
    /// LinkedIn's invitation id when present, else a hash of profile link and Message-ID.
    /// Phishing gets its own namespace: a forgery can carry a genuine invitation id and must
    /// never merge with (or into) the real invitation.
    pub fn dedupe_key(&self) -> String {
        let key = self.identity_key();
        if self.kind == Kind::Phishing {
            format!("phishing:{key}")
        } else {
            key
        }
    }

    fn identity_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let invitation_id = self
            .invitation
            .as_ref()
            .and_then(|i| i.invitation_id.as_ref());
        if let Some(id) = invitation_id {
            return format!("inv:{id}");
        }
        let mut h = Sha256::new();
        let profile = self
            .invitation
            .as_ref()
            .and_then(|i| i.inviter.profile_url.as_deref())
            .unwrap_or("");
        h.update(profile.as_bytes());
        h.update([0u8]);
        h.update(self.message_id.as_deref().unwrap_or("").as_bytes());
        h.update([0u8]);
        h.update(self.subject.as_deref().unwrap_or("").as_bytes());
        let digest = h.finalize();
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("hash:{hex}")
    }
}
