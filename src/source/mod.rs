//! Adapters that fetch mail. `local` reads files for the offline commands (`explain`,
//! `preview`); `imap` reads a live mailbox. Neither knows what the mail means.

pub mod imap;
pub mod local;
