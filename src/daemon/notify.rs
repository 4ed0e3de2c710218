//! systemd readiness protocol: READY=1 once the config is loaded and the store open,
//! STATUS= lines for `systemctl status`, WATCHDOG=1 pings. A no-op outside systemd
//! (no NOTIFY_SOCKET), so the daemon runs the same in a terminal.

use std::time::Duration;

use sd_notify::NotifyState;

pub fn ready() {
    let _ = sd_notify::notify(false, &[NotifyState::Ready]);
}

/// RELOADING=1 with the MONOTONIC_USEC= systemd needs to match it to the reload it asked
/// for (required by `Type=notify-reload`, harmless with `Type=notify`).
pub fn reloading() {
    let mut states = vec![NotifyState::Reloading];
    if let Ok(now) = NotifyState::monotonic_usec_now() {
        states.push(now);
    }
    let _ = sd_notify::notify(false, &states);
}

pub fn stopping() {
    let _ = sd_notify::notify(false, &[NotifyState::Stopping]);
}

pub fn status(text: &str) {
    let _ = sd_notify::notify(false, &[NotifyState::Status(text)]);
}

pub fn watchdog() {
    let _ = sd_notify::notify(false, &[NotifyState::Watchdog]);
}

/// The interval at which to ping: half of WatchdogSec, as sd_watchdog_enabled(3) advises.
pub fn watchdog_interval() -> Option<Duration> {
    let mut usec = 0;
    sd_notify::watchdog_enabled(false, &mut usec).then(|| Duration::from_micros(usec / 2))
}
