//! When the digest fires: owns the crontab(5) dialect we accept, the time-zone lookup
//! (configured name and system default), the daylight-saving rules, and catch-up after downtime.
//!
//! Everything here is a pure function of the instant it is given (`now`, `after`, `last_run`),
//! so the daemon's timer loop, the `schedule --next N` command and the tests all share one
//! implementation and the tests need no clock. The only I/O is [`system_timezone`], a thin
//! wrapper over [`timezone_from_sources`].
//!
//! # Dialect
//!
//! Five fields `minute hour day-of-month month day-of-week`, or six with a leading `second`
//! field. Each field is a comma list of `*`, `N`, `A-B`, `*/S` or `A-B/S`; months and weekdays
//! also take three-letter English names (any case), weekday `0` and `7` are both Sunday. The
//! shortcuts `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight` and `@hourly`
//! expand as in Vixie cron. Deliberately rejected, with a reason that says what to write instead:
//!
//! * `N/S` (a step without a range): cronie rejects it, Quartz reads it as `N-max/S`; rather than
//!   guess we ask for the explicit form.
//! * ranges that run backwards (`Fri-Mon`, `22-2`): crontab rejects them too, and silently
//!   wrapping would hide typos. The one convenience: a weekday range may *end* at `Sun`
//!   (`Fri-Sun`), which reads as Sunday = 7, because that is unambiguous and commonly written.
//! * Quartz/croner extensions (`?`, `L`, `W`, `#`) and a 7th year field: they are not crontab and
//!   a digest schedule does not need them.
//! * steps longer than the field (`*/90` minutes): cron steps restart each hour/day/..., so such a
//!   step can never mean what it seems to say.
//! * patterns that can never fire (`0 0 30 2 *`): better a config error than a daemon that waits
//!   forever.
//!
//! Day-of-month and day-of-week combine as in Vixie/ISC cron and cronie: if either field starts
//! with `*` (that includes `*/2`) both must match, otherwise a day matches when *either* does
//! (`0 0 13 * Fri` fires on every Friday and on every 13th).
//!
//! # Daylight saving
//!
//! A schedule names wall-clock times in its zone; DST makes some wall-clock times not exist
//! (spring forward) and others exist twice (fall back). Two kinds of job behave differently,
//! using the same syntactic test Vixie cron uses (its `HR_STAR` flag):
//!
//! * **Wall-clock jobs** — the hour field does not start with `*` (`30 2 * * *`, `*/15 9-17 * * *`).
//!   They are about a time of day, so each matching wall-clock time fires exactly once: a time in
//!   a gap fires at the first instant after the gap (02:30 on the spring-forward night runs at
//!   03:00, like Vixie cron's "run immediately"), and a repeated time fires only at its first
//!   occurrence.
//! * **Real-time jobs** — the hour field starts with `*` (`0 * * * *`, `*/15 * * * *`,
//!   `0 */2 * * *`, `@hourly`). They are about elapsed time ("every hour"), so they follow the
//!   clock on the wall as it actually runs: in a repeated hour they fire in both passes, and
//!   wall-clock times inside a gap simply never happen (the next real slot follows). This is
//!   also what Vixie cron does for its wildcard jobs.

use std::fmt;
use std::path::Path;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, Months, NaiveDate, NaiveDateTime, Offset, TimeZone,
    Timelike, Utc,
};
use chrono_tz::Tz;

/// Why a schedule or time zone from the configuration was refused. The messages are meant to be
/// shown to the person who wrote the config, so they say what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The cron expression could not be parsed or can never fire.
    #[error("invalid schedule {expr:?}: {reason}")]
    InvalidExpression {
        /// The expression as written in the config.
        expr: String,
        /// What is wrong with it, and usually what to write instead.
        reason: String,
    },
    /// The time-zone name is not in the IANA database compiled into chrono-tz.
    #[error("unknown time zone {name:?}{}", describe_hint(.hint))]
    UnknownTimezone {
        /// The name as written in the config.
        name: String,
        /// The closest real zone name, if one is close enough to be a plausible typo.
        hint: Option<String>,
    },
}

fn describe_hint(hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!(" (did you mean {h:?}?)"),
        None => " (expected an IANA name such as \"Europe/Berlin\" or \"UTC\")".to_string(),
    }
}

/// A parsed cron expression bound to the time zone its wall-clock times are read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    expr: String,
    tz: Tz,
    fields: Fields,
}

/// The expanded fields as bit sets (bit `n` set = value `n` allowed), so matching is a shift and
/// a mask and the search can jump straight to the next allowed value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    seconds: u64,
    minutes: u64,
    hours: u64,
    /// Bits 1..=31.
    days_of_month: u64,
    /// Bits 1..=12.
    months: u64,
    /// Bits 0..=6, Sunday = 0 (a 7 in the expression is folded onto 0).
    days_of_week: u64,
    dom_star: bool,
    dow_star: bool,
    /// Hour field starts with `*`: the job follows real time across DST changes (see module docs).
    hour_star: bool,
}

/// One field's name, bounds and (for month/weekday) names, used for parsing and error messages.
struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    /// How many distinct values the field cycles through; longer steps are rejected.
    period: u32,
    /// Three-letter names, the first standing for `min`.
    names: &'static [&'static str],
}

const SECOND: FieldSpec = FieldSpec {
    name: "second",
    min: 0,
    max: 59,
    period: 60,
    names: &[],
};
const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    period: 60,
    names: &[],
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    period: 24,
    names: &[],
};
const DAY_OF_MONTH: FieldSpec = FieldSpec {
    name: "day-of-month",
    min: 1,
    max: 31,
    period: 31,
    names: &[],
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    period: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DAY_OF_WEEK: FieldSpec = FieldSpec {
    name: "day-of-week",
    min: 0,
    max: 7,
    period: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

/// How far ahead the search looks before concluding there is no next firing. The Gregorian
/// calendar repeats every 400 years, so a pattern that matches nothing in 401 years never will.
const SEARCH_YEARS: u32 = 401;

impl Schedule {
    /// Parses a crontab(5) expression (see the module docs for the exact dialect) whose times
    /// are wall-clock times in `tz`.
    pub fn parse(expr: &str, tz: Tz) -> Result<Schedule, ScheduleError> {
        let text = expr.trim();
        let fields = parse_fields(text).map_err(|reason| ScheduleError::InvalidExpression {
            expr: expr.to_string(),
            reason,
        })?;
        let schedule = Schedule {
            expr: text.to_string(),
            tz,
            fields,
        };
        schedule.ensure_can_fire(expr)?;
        Ok(schedule)
    }

    /// The time zone the expression's wall-clock times are read in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The expression as configured (surrounding whitespace removed).
    pub fn expression(&self) -> &str {
        &self.expr
    }

    /// The first firing instant strictly after `after`, or `None` if there is none before the
    /// end of chrono's calendar. Firings are whole seconds.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // `timestamp()` floors, so this is the first whole second strictly after `after`.
        let start = DateTime::from_timestamp(after.timestamp().checked_add(1)?, 0)?;
        self.first_at_or_after(start)
    }

    /// The next `n` firings strictly after `after`, in the schedule's zone, for showing to a
    /// person (`invite-digest schedule --next N`): `to_string()` gives e.g.
    /// `2026-03-30 08:30:00 CEST`.
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::with_capacity(n.min(1024));
        let mut cursor = after;
        while out.len() < n {
            match self.next_after(cursor) {
                Some(next) => {
                    out.push(next.with_timezone(&self.tz));
                    cursor = next;
                }
                None => break,
            }
        }
        out
    }

    /// Catch-up after downtime: the most recent firing in `(last_run, now]`, if any.
    ///
    /// Returns one slot however many were missed, because a digest summarises everything since
    /// the last one — sending a backlog of identical digests would be noise. The caller records
    /// the attempt (as `last_run`) afterwards, so the same slot is not returned again.
    /// `last_run = None` (fresh install) returns `None`: there is nothing to catch up on before
    /// the first scheduled run. A clock that went backwards (`now <= last_run`) also returns
    /// `None`.
    pub fn missed_slot(
        &self,
        last_run: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let last = last_run?;
        if now <= last {
            return None;
        }
        let first = self.next_after(last)?;
        if first > now {
            return None;
        }
        // Binary search for the largest whole second t with next_after(t) <= now; then
        // next_after(t) is the latest firing <= now (any later one s <= now would give
        // next_after(t + 1s) <= s). This needs ~log2(gap in seconds) searches instead of one
        // per missed slot, which matters for an every-minute schedule after a month offline.
        let mut lo = last.timestamp(); // next_after(lo) == first <= now
        let mut hi = now.timestamp(); // next_after(hi) > now
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let fits = DateTime::from_timestamp(mid, 0)
                .and_then(|t| self.next_after(t))
                .is_some_and(|next| next <= now);
            if fits {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        DateTime::from_timestamp(lo, 0).and_then(|t| self.next_after(t))
    }

    /// True when the schedule follows real time across DST changes rather than the wall clock
    /// (its hour field starts with `*`; see the module docs).
    pub fn follows_real_time(&self) -> bool {
        self.fields.hour_star
    }

    fn ensure_can_fire(&self, expr: &str) -> Result<(), ScheduleError> {
        let from = NaiveDate::from_ymd_opt(2000, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
        let found = from.and_then(|from| self.fields.next_local_match(from, search_limit(from)));
        match found {
            Some(_) => Ok(()),
            None => Err(ScheduleError::InvalidExpression {
                expr: expr.to_string(),
                reason: "this schedule can never fire: no calendar date satisfies its \
                         day-of-month, month and day-of-week fields together (e.g. 30 February)"
                    .to_string(),
            }),
        }
    }

    /// The earliest firing instant `>= start` (`start` is a whole second).
    ///
    /// Walks the matching wall-clock times in local order and maps each to its firing instants
    /// (see [`Self::firings`]). Local order and instant order differ only inside a fall-back
    /// overlap, where a real-time job's second-pass firing of an earlier wall-clock time comes
    /// after first-pass firings of later ones; so we keep the best candidate and stop once the
    /// first-pass instant (which does increase with local time) reaches it.
    fn first_at_or_after(&self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = self.tz;
        let local_start = local_time(tz, start)?;
        let mut cursor = local_start;
        // `start` exactly at the end of a spring-forward gap: the gap's wall-clock times fire at
        // `start` itself but read earlier than `local_start`, so begin just after the wall-clock
        // time one second earlier (a no-op at any other instant).
        let just_before = start
            .checked_sub_signed(Duration::seconds(1))
            .and_then(|t| local_time(tz, t))
            .and_then(|t| t.checked_add_signed(Duration::seconds(1)));
        if let Some(just_before) = just_before {
            cursor = cursor.min(just_before);
        }
        if self.fields.hour_star {
            // `start` in the first pass of a repeated hour: the second pass of the wall-clock
            // times just before it is still ahead of us, so rewind by the overlap's length.
            if let LocalResult::Ambiguous(first, second) = tz.from_local_datetime(&local_start) {
                if first.with_timezone(&Utc) == start {
                    let overlap = second.with_timezone(&Utc) - first.with_timezone(&Utc);
                    cursor = cursor.min(local_start.checked_sub_signed(overlap)?);
                }
            }
        }
        let limit = search_limit(local_start);
        let mut best: Option<DateTime<Utc>> = None;
        while let Some(local) = self.fields.next_local_match(cursor, limit) {
            let (earliest, fires) = self.firings(local);
            if let (Some(best), Some(earliest)) = (best, earliest) {
                if earliest >= best {
                    break;
                }
            }
            for fire in fires.into_iter().flatten() {
                if fire >= start && best.is_none_or(|b| fire < b) {
                    best = Some(fire);
                }
            }
            cursor = match local.checked_add_signed(Duration::seconds(1)) {
                Some(c) => c,
                None => break,
            };
        }
        best
    }

    /// The instants at which a matching wall-clock time fires, plus its earliest possible
    /// instant (which never decreases as the wall-clock time increases) for ending the search.
    fn firings(&self, local: NaiveDateTime) -> (Option<DateTime<Utc>>, [Option<DateTime<Utc>>; 2]) {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => {
                let t = t.with_timezone(&Utc);
                (Some(t), [Some(t), None])
            }
            LocalResult::Ambiguous(first, second) => {
                let first = first.with_timezone(&Utc);
                let second = self.fields.hour_star.then(|| second.with_timezone(&Utc));
                (Some(first), [Some(first), second])
            }
            LocalResult::None if self.fields.hour_star => (None, [None, None]),
            LocalResult::None => {
                let end = gap_end(self.tz, local);
                (end, [end, None])
            }
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\" in {}", self.expr, self.tz.name())
    }
}

/// Wall-clock time of `instant` in `tz`; `None` (instead of chrono's panic in `naive_local`)
/// when that falls off the end of chrono's calendar.
fn local_time(tz: Tz, instant: DateTime<Utc>) -> Option<NaiveDateTime> {
    let offset = tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
    instant
        .naive_utc()
        .checked_add_signed(Duration::seconds(i64::from(offset.local_minus_utc())))
}

fn search_limit(from: NaiveDateTime) -> NaiveDate {
    from.date()
        .checked_add_months(Months::new(SEARCH_YEARS * 12))
        .unwrap_or(NaiveDate::MAX)
}

/// The first instant after the DST gap that swallows the nonexistent wall-clock time `local`
/// (e.g. 03:00 CEST for 02:30 on the spring-forward night in Berlin). Found by bisection on
/// the UTC timeline, since chrono-tz does not expose its transition table. UTC offsets stay
/// within ±15 h and gaps last at most a day (Samoa, 2011), so the transition lies within 36 h
/// of `local` read as UTC.
fn gap_end(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let local_at = |secs: i64| DateTime::from_timestamp(secs, 0).and_then(|t| local_time(tz, t));
    let guess = local.and_utc().timestamp();
    let mut lo = guess.checked_sub(36 * 3600)?;
    let mut hi = guess.checked_add(36 * 3600)?;
    if local_at(lo)? >= local || local_at(hi)? <= local {
        return None;
    }
    // Invariant: local(lo) < local < local(hi).
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if local_at(mid)? < local {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

impl Fields {
    fn day_matches(&self, date: NaiveDate) -> bool {
        let dom = has_bit(self.days_of_month, date.day());
        let dow = has_bit(self.days_of_week, date.weekday().num_days_from_sunday());
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first wall-clock time `>= from` (whole seconds) that matches, ignoring time zones,
    /// or `None` if none falls on or before `limit`.
    fn next_local_match(&self, from: NaiveDateTime, limit: NaiveDate) -> Option<NaiveDateTime> {
        let mut date = from.date();
        let mut floor = (from.hour(), from.minute(), from.second());
        loop {
            if date > limit {
                return None;
            }
            if !has_bit(self.months, date.month()) {
                date = first_of_next_month(date)?;
                floor = (0, 0, 0);
                continue;
            }
            if self.day_matches(date) {
                if let Some((h, m, s)) = self.first_time_at_or_after(floor) {
                    return date.and_hms_opt(h, m, s);
                }
            }
            date = date.succ_opt()?;
            floor = (0, 0, 0);
        }
    }

    fn first_time_at_or_after(&self, (h0, m0, s0): (u32, u32, u32)) -> Option<(u32, u32, u32)> {
        let mut hour = next_bit(self.hours, h0);
        while let Some(h) = hour {
            let min_from = if h == h0 { m0 } else { 0 };
            let mut minute = next_bit(self.minutes, min_from);
            while let Some(m) = minute {
                let sec_from = if h == h0 && m == m0 { s0 } else { 0 };
                if let Some(s) = next_bit(self.seconds, sec_from) {
                    return Some((h, m, s));
                }
                minute = next_bit(self.minutes, m + 1);
            }
            hour = next_bit(self.hours, h + 1);
        }
        None
    }
}

fn first_of_next_month(date: NaiveDate) -> Option<NaiveDate> {
    if date.month() == 12 {
        NaiveDate::from_ymd_opt(date.year().checked_add(1)?, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)
    }
}

fn has_bit(mask: u64, value: u32) -> bool {
    value < 64 && mask & (1u64 << value) != 0
}

/// The smallest set bit `>= from`.
fn next_bit(mask: u64, from: u32) -> Option<u32> {
    if from >= 64 {
        return None;
    }
    let rest = mask & (u64::MAX << from);
    (rest != 0).then(|| rest.trailing_zeros())
}

// ---------------------------------------------------------------------------------------------
// Parsing

const SHORTCUTS: &[(&str, &str)] = &[
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

fn parse_fields(text: &str) -> Result<Fields, String> {
    if text.is_empty() {
        return Err(
            "the schedule is empty; expected five fields such as \"30 8 * * Mon-Fri\"".to_string(),
        );
    }
    if text.starts_with('@') {
        return parse_shortcut(text);
    }
    let parts: Vec<&str> = text.split_whitespace().collect();
    let (second, rest) = match parts.len() {
        5 => (None, &parts[..]),
        6 => (Some(parts[0]), &parts[1..]),
        n => {
            let extra = if n == 7 {
                " (a 7th, year field is Quartz syntax, not crontab)"
            } else {
                ""
            };
            return Err(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), or 6 with a \
                 leading seconds field; found {n}{extra}"
            ));
        }
    };
    let [minute, hour, dom, month, dow] = [rest[0], rest[1], rest[2], rest[3], rest[4]];
    Ok(Fields {
        seconds: match second {
            Some(s) => parse_field(s, &SECOND)?,
            None => 1,
        },
        minutes: parse_field(minute, &MINUTE)?,
        hours: parse_field(hour, &HOUR)?,
        days_of_month: parse_field(dom, &DAY_OF_MONTH)?,
        months: parse_field(month, &MONTH)?,
        days_of_week: parse_field(dow, &DAY_OF_WEEK)?,
        dom_star: dom.starts_with('*'),
        dow_star: dow.starts_with('*'),
        hour_star: hour.starts_with('*'),
    })
}

fn parse_shortcut(text: &str) -> Result<Fields, String> {
    let mut words = text.split_whitespace();
    let word = words.next().unwrap_or_default();
    if let Some(extra) = words.next() {
        return Err(format!(
            "{word} stands for a whole schedule, so nothing may follow it (found {extra:?})"
        ));
    }
    if word.eq_ignore_ascii_case("@reboot") {
        return Err(
            "@reboot has no meaning for a digest schedule; use a time such as @daily or \
             \"30 8 * * *\""
                .to_string(),
        );
    }
    match SHORTCUTS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
    {
        Some((_, expansion)) => parse_fields(expansion),
        None => Err(format!(
            "unknown shortcut {word:?}; expected one of @yearly, @annually, @monthly, @weekly, \
             @daily, @midnight, @hourly"
        )),
    }
}

/// Parses one field into a bit set; errors are prefixed with the field's name and text.
fn parse_field(text: &str, spec: &FieldSpec) -> Result<u64, String> {
    parse_list(text, spec).map_err(|detail| format!("{} field {text:?}: {detail}", spec.name))
}

fn parse_list(text: &str, spec: &FieldSpec) -> Result<u64, String> {
    let mut mask = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err("empty list item (stray comma?)".to_string());
        }
        mask |= parse_item(item, spec)?;
    }
    if spec.names == DAY_OF_WEEK.names && has_bit(mask, 7) {
        // 7 is Sunday too; keep one bit per weekday.
        mask = (mask & !(1 << 7)) | 1;
    }
    Ok(mask)
}

fn parse_item(item: &str, spec: &FieldSpec) -> Result<u64, String> {
    if item == "?" {
        return Err("'?' is Quartz syntax, not crontab; use '*'".to_string());
    }
    if item.contains('#') {
        return Err(
            "'#' (nth weekday of the month) is a Quartz/croner extension, not crontab; \
                    list the days instead"
                .to_string(),
        );
    }
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(parse_step(step, spec)?)),
        None => (item, None),
    };
    let (lo, hi) = if range == "*" {
        (spec.min, spec.max)
    } else if let Some((a, b)) = range.split_once('-') {
        if a.is_empty() || b.is_empty() {
            return Err(format!(
                "range {range:?} needs a number on both sides of '-'"
            ));
        }
        let lo = parse_value(a, spec)?;
        let mut hi = parse_value(b, spec)?;
        if spec.names == DAY_OF_WEEK.names && hi == 0 && lo > 0 {
            // `Fri-Sun`: Sunday at the end of a range is day 7.
            hi = 7;
        }
        if lo > hi {
            let (min, max) = (spec.min, spec.max.min(spec.min + spec.period - 1));
            return Err(format!(
                "range {range} runs backwards ({lo} > {hi}); cron ranges do not wrap around, \
                 so split it in two, e.g. \"{lo}-{max},{min}-{hi}\""
            ));
        }
        (lo, hi)
    } else {
        let value = parse_value(range, spec)?;
        if step.is_some() {
            return Err(format!(
                "a step needs a range: write \"{value}-{}/S\" or \"*/S\" instead of \"{item}\"",
                spec.max
            ));
        }
        (value, value)
    };
    let step = step.unwrap_or(1);
    let mut mask = 0u64;
    let mut value = lo;
    while value <= hi {
        mask |= 1 << value;
        value += step;
    }
    Ok(mask)
}

fn parse_step(text: &str, spec: &FieldSpec) -> Result<u32, String> {
    if text.is_empty() {
        return Err("missing step after '/'".to_string());
    }
    let step = parse_number(text).ok_or_else(|| format!("step {text:?} is not a number"))?;
    if step == 0 {
        return Err("a step of 0 never advances; use 1 or more".to_string());
    }
    if step > spec.period {
        return Err(format!(
            "a step of {step} is longer than the whole {}-{} range; cron steps restart every \
             cycle, so it could only ever hit the first value",
            spec.min, spec.max
        ));
    }
    Ok(step)
}

/// A field value: decimal digits, or a three-letter name for months and weekdays.
fn parse_value(text: &str, spec: &FieldSpec) -> Result<u32, String> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let range = if spec.names == DAY_OF_WEEK.names {
            " (0 and 7 are Sunday)"
        } else {
            ""
        };
        return match parse_number(text) {
            Some(v) if (spec.min..=spec.max).contains(&v) => Ok(v),
            _ => Err(format!(
                "{text} is out of range {}-{}{range}",
                spec.min, spec.max
            )),
        };
    }
    let lower = text.to_ascii_lowercase();
    if let Some(index) = spec.names.iter().position(|name| *name == lower) {
        // Names are listed from `min` up; the index is small, so the cast is lossless.
        return Ok(spec.min + index as u32);
    }
    if spec.names.is_empty() {
        let hint = if text.eq_ignore_ascii_case("l") || text.ends_with(['L', 'W', 'l', 'w']) {
            " ('L' and 'W' are Quartz/croner extensions, not crontab)"
        } else {
            ""
        };
        return Err(format!("{text:?} is not a number{hint}"));
    }
    let kind = if spec.names == DAY_OF_WEEK.names {
        "day"
    } else {
        "month"
    };
    let first = spec.names.first().copied().unwrap_or_default();
    let last = spec.names.last().copied().unwrap_or_default();
    match spec
        .names
        .iter()
        .find(|name| lower.len() > 3 && lower.starts_with(*name))
    {
        Some(name) => Err(format!(
            "unknown {kind} name {text:?}; use the first three letters: {:?}",
            capitalize(name)
        )),
        None => Err(format!(
            "{text:?} is not a number or a {kind} name ({}-{})",
            capitalize(first),
            capitalize(last)
        )),
    }
}

/// Plain decimal digits only: `str::parse` would also take a leading `+`.
fn parse_number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn capitalize(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Time zones

/// Looks up an IANA zone name (`Europe/Berlin`, `UTC`). Names are case-sensitive, as in the
/// tz database and the `TZ` variable; a near miss is refused with a did-you-mean hint (a
/// case-insensitive match, a bare city such as `Berlin` or `New York`, or the closest name by
/// edit distance) so the user fixes the config instead of us silently guessing.
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    let trimmed = name.trim();
    match trimmed.parse::<Tz>() {
        Ok(tz) => Ok(tz),
        Err(_) => Err(ScheduleError::UnknownTimezone {
            name: name.to_string(),
            hint: suggest_timezone(trimmed),
        }),
    }
}

fn suggest_timezone(input: &str) -> Option<String> {
    let wanted = input.trim().replace(' ', "_").to_ascii_lowercase();
    if wanted.is_empty() {
        return None;
    }
    let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    if let Some(name) = names.clone().find(|n| n.to_ascii_lowercase() == wanted) {
        return Some(name.to_string());
    }
    let city = |n: &str| n.rsplit('/').next().unwrap_or(n).to_ascii_lowercase();
    if !wanted.contains('/') {
        if let Some(name) = names.clone().find(|n| n.contains('/') && city(n) == wanted) {
            return Some(name.to_string());
        }
    }
    let distance = |n: &str| {
        let full = levenshtein(&wanted, &n.to_ascii_lowercase());
        if wanted.contains('/') {
            full
        } else {
            full.min(levenshtein(&wanted, &city(n)))
        }
    };
    let (best, dist) = names.map(|n| (n, distance(n))).min_by_key(|&(_, d)| d)?;
    let allowed = (wanted.chars().count() / 4).max(1);
    (dist <= allowed).then(|| best.to_string())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Picks the machine's zone from the places Unix keeps it, in the order libc consults them:
/// the `TZ` variable (`Europe/Berlin`, `:Europe/Berlin`, or a path into a zoneinfo directory),
/// then the target of the `/etc/localtime` symlink (`/usr/share/zoneinfo/Europe/Berlin`, also
/// relative or macOS-style targets), then the first line of `/etc/timezone` (Debian), and UTC
/// if none names a zone we know. A `TZ` we cannot read as a zone name (a POSIX rule string such
/// as `CET-1CEST`) falls through to the files rather than to UTC, since those usually say the
/// same thing in a form we understand. Takes the values rather than reading them so it can be
/// tested; [`system_timezone`] supplies the real ones.
pub fn timezone_from_sources(
    tz_env: Option<&str>,
    localtime_target: Option<&Path>,
    etc_timezone: Option<&str>,
) -> Tz {
    let from_env = tz_env.and_then(|value| {
        let value = value.trim();
        let value = value.strip_prefix(':').unwrap_or(value);
        if value.starts_with('/') {
            zone_from_path(Path::new(value))
        } else if value.is_empty() {
            None
        } else {
            value.parse::<Tz>().ok()
        }
    });
    let from_link = || localtime_target.and_then(zone_from_path);
    let from_file = || {
        etc_timezone.and_then(|text| {
            text.lines()
                .map(str::trim)
                .find(|line| !line.is_empty() && !line.starts_with('#'))
                .and_then(|line| line.parse::<Tz>().ok())
        })
    };
    from_env
        .or_else(from_link)
        .or_else(from_file)
        .unwrap_or(Tz::UTC)
}

/// `…/zoneinfo/Europe/Berlin` (optionally under `posix/` or `right/`) → `Europe/Berlin`.
fn zone_from_path(path: &Path) -> Option<Tz> {
    let text = path.to_str()?;
    let (_, name) = text.rsplit_once("zoneinfo/")?;
    let name = name
        .strip_prefix("posix/")
        .or_else(|| name.strip_prefix("right/"))
        .unwrap_or(name);
    name.parse().ok()
}

/// The zone this machine runs in (see [`timezone_from_sources`]); the default when the config
/// names none.
pub fn system_timezone() -> Tz {
    let tz_env = std::env::var("TZ").ok();
    let link = std::fs::read_link("/etc/localtime").ok();
    let etc_timezone = std::fs::read_to_string("/etc/timezone").ok();
    timezone_from_sources(tz_env.as_deref(), link.as_deref(), etc_timezone.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("test timestamp")
    }

    #[test]
    fn bit_helpers() {
        assert_eq!(next_bit(0b1010, 0), Some(1));
        assert_eq!(next_bit(0b1010, 2), Some(3));
        assert_eq!(next_bit(0b1010, 4), None);
        assert_eq!(next_bit(u64::MAX, 63), Some(63));
        assert_eq!(next_bit(u64::MAX, 64), None);
        assert!(!has_bit(u64::MAX, 64));
    }

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("berln", "berlin"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }

    #[test]
    fn timezone_from_tz_variable_wins() {
        let link = Path::new("/usr/share/zoneinfo/America/New_York");
        let tz = timezone_from_sources(Some("Europe/Berlin"), Some(link), Some("Asia/Tokyo\n"));
        assert_eq!(tz, Tz::Europe__Berlin);
        assert_eq!(
            timezone_from_sources(Some(":Europe/Paris"), None, None),
            Tz::Europe__Paris
        );
        assert_eq!(
            timezone_from_sources(Some(":/usr/share/zoneinfo/Asia/Tokyo"), None, None),
            Tz::Asia__Tokyo
        );
    }

    #[test]
    fn timezone_unusable_tz_variable_falls_through() {
        let link = Path::new("/usr/share/zoneinfo/America/New_York");
        for env in ["", "  ", "CET-1CEST,M3.5.0,M10.5.0/3", "Not/AZone"] {
            assert_eq!(
                timezone_from_sources(Some(env), Some(link), None),
                Tz::America__New_York,
                "TZ={env:?}"
            );
        }
    }

    #[test]
    fn timezone_from_localtime_link_variants() {
        for (target, want) in [
            ("/usr/share/zoneinfo/Europe/Berlin", Tz::Europe__Berlin),
            (
                "../usr/share/zoneinfo/America/New_York",
                Tz::America__New_York,
            ),
            ("/var/db/timezone/zoneinfo/Asia/Tokyo", Tz::Asia__Tokyo),
            ("/usr/share/zoneinfo/posix/Europe/Paris", Tz::Europe__Paris),
            ("/usr/share/zoneinfo/Etc/UTC", Tz::Etc__UTC),
        ] {
            assert_eq!(
                timezone_from_sources(None, Some(Path::new(target)), None),
                want,
                "{target}"
            );
        }
        // Not a zoneinfo path: next source.
        assert_eq!(
            timezone_from_sources(None, Some(Path::new("/etc/foo")), Some("Europe/Rome\n")),
            Tz::Europe__Rome
        );
    }

    #[test]
    fn timezone_from_etc_timezone_and_fallback() {
        assert_eq!(
            timezone_from_sources(None, None, Some("\n# comment\n  Europe/Vienna  \n")),
            Tz::Europe__Vienna
        );
        assert_eq!(timezone_from_sources(None, None, Some("garbage")), Tz::UTC);
        assert_eq!(timezone_from_sources(None, None, None), Tz::UTC);
    }

    #[test]
    fn system_timezone_does_not_panic() {
        // Whatever this machine says, the wrapper must produce some zone.
        let _ = system_timezone();
    }

    #[test]
    fn gap_end_finds_transition() {
        let local = NaiveDate::from_ymd_opt(2026, 3, 29)
            .and_then(|d| d.and_hms_opt(2, 30, 0))
            .expect("date");
        assert_eq!(
            gap_end(Tz::Europe__Berlin, local),
            Some(utc("2026-03-29T01:00:00Z"))
        );
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        let schedules = ["* * * * * *", "0 0 29 2 *", "30 2 * * *", "*/15 * * * *"];
        for expr in schedules {
            for tz in [Tz::UTC, Tz::Pacific__Kiritimati, Tz::Pacific__Niue] {
                let s = Schedule::parse(expr, tz).expect("valid");
                for t in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC] {
                    let _ = s.next_after(t);
                    let _ = s.upcoming(t, 2);
                    let _ = s.missed_slot(Some(DateTime::<Utc>::MIN_UTC), t);
                }
                assert_eq!(s.next_after(DateTime::<Utc>::MAX_UTC), None);
            }
        }
    }

    /// The DST rules restated minute by minute on the UTC timeline, as an independent check of
    /// the search in `first_at_or_after` (which walks wall-clock times instead).
    fn brute_force(s: &Schedule, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let f = &s.fields;
        let matches = |n: NaiveDateTime| {
            has_bit(f.seconds, n.second())
                && has_bit(f.minutes, n.minute())
                && has_bit(f.hours, n.hour())
                && has_bit(f.months, n.month())
                && f.day_matches(n.date())
        };
        let minute = Duration::minutes(1);
        let mut out = Vec::new();
        let mut t = from;
        while t < to {
            let local = local_time(s.tz, t).expect("in range");
            let fires_here = matches(local)
                && match s.tz.from_local_datetime(&local) {
                    LocalResult::Single(_) => true,
                    LocalResult::Ambiguous(first, second) => {
                        first.with_timezone(&Utc) == t
                            || (f.hour_star && second.with_timezone(&Utc) == t)
                    }
                    LocalResult::None => unreachable!("a real instant has a local time"),
                };
            // Wall-clock times skipped by a jump that ends at `t` fire at `t`.
            let before = local_time(s.tz, t - minute).expect("in range");
            let mut skipped = before + minute;
            let mut gap_fires = false;
            while skipped < local {
                gap_fires |= !f.hour_star && matches(skipped);
                skipped += minute;
            }
            if fires_here || gap_fires {
                out.push(t);
            }
            t += minute;
        }
        out
    }

    #[test]
    fn search_agrees_with_brute_force_around_transitions() {
        let cases: &[(Tz, &str)] = &[
            (Tz::Europe__Berlin, "2026-03-29T01:00:00Z"),
            (Tz::Europe__Berlin, "2026-10-25T01:00:00Z"),
            (Tz::America__New_York, "2026-03-08T07:00:00Z"),
            (Tz::America__New_York, "2026-11-01T06:00:00Z"),
            (Tz::Australia__Lord_Howe, "2026-04-04T15:00:00Z"),
            (Tz::Australia__Lord_Howe, "2026-10-03T15:30:00Z"),
            (Tz::America__Santiago, "2026-09-06T04:00:00Z"),
            (Tz::America__Santiago, "2026-04-05T03:00:00Z"),
            (Tz::Pacific__Apia, "2011-12-30T10:00:00Z"),
            (Tz::UTC, "2026-06-01T00:00:00Z"),
        ];
        let patterns = [
            "30 2 * * *",
            "0 * * * *",
            "*/15 * * * *",
            "*/7 1-3 * * *",
            "0 0 * * *",
            "* 2 * * *",
            "15,45 */2 * * *",
            "0,30 0-4 * * Sun",
            "59 23 * * *",
            "* * * * *",
        ];
        for &(tz, transition) in cases {
            let center = utc(transition);
            let (from, to) = (center - Duration::hours(30), center + Duration::hours(30));
            for expr in patterns {
                let s = Schedule::parse(expr, tz).expect("valid");
                let want = brute_force(&s, from, to);
                let mut got = Vec::new();
                let mut t = from - Duration::seconds(1);
                while let Some(next) = s.next_after(t) {
                    if next >= to {
                        break;
                    }
                    got.push(next);
                    t = next;
                }
                assert_eq!(got, want, "{expr:?} in {tz} around {transition}");
                // Asking one second (or less) before a firing must find it, gap ends included.
                for &w in &want {
                    for before in [Duration::seconds(1), Duration::milliseconds(1)] {
                        assert_eq!(s.next_after(w - before), Some(w), "{expr:?} in {tz} at {w}");
                    }
                }
                // Asking from any second must give the first brute-force firing after it.
                let mut probe = from;
                while probe < to {
                    let expect = want.iter().find(|&&w| w > probe).copied();
                    if let Some(expect) = expect {
                        assert_eq!(
                            s.next_after(probe),
                            Some(expect),
                            "{expr:?} in {tz} after {probe}"
                        );
                    }
                    probe += Duration::seconds(599);
                }
            }
        }
    }

    /// xorshift64*: deterministic pseudo-random input without a `rand` dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }

    #[test]
    fn parse_never_panics_on_random_input() {
        const PIECES: &[&str] = &[
            "0",
            "1",
            "5",
            "7",
            "9",
            "12",
            "23",
            "29",
            "31",
            "59",
            "60",
            "99",
            "4294967296",
            "*",
            "/",
            "-",
            ",",
            " ",
            "  ",
            "\t",
            "?",
            "L",
            "W",
            "#",
            "@",
            "@daily",
            "@hourly",
            "@reboot",
            "Mon",
            "fri",
            "SUN",
            "jan",
            "Dec",
            "sunday",
            "é",
            "√",
            "\u{0}",
            "+",
            "x",
            "*/",
            "-1",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let after = utc("2026-03-28T22:59:59Z");
        let mut accepted = 0;
        for _ in 0..600 {
            let len = 1 + rng.below(14);
            let text: String = (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect();
            if let Ok(s) = Schedule::parse(&text, Tz::Europe__Berlin) {
                accepted += 1;
                let next = s.next_after(after);
                assert!(next.is_none_or(|n| n > after), "{text:?}");
                let _ = s.upcoming(after, 3);
                let _ = s.missed_slot(Some(utc("2026-03-01T00:00:00Z")), after);
            }
        }
        // Also a handful that look like five fields, to exercise the field parsers.
        for _ in 0..300 {
            let fields: Vec<String> = (0..5)
                .map(|_| {
                    let len = 1 + rng.below(4);
                    (0..len).map(|_| PIECES[rng.below(14)]).collect::<String>()
                        + ["", "-3", "/2", ",1"][rng.below(4)]
                })
                .collect();
            let text = fields.join(" ");
            if let Ok(s) = Schedule::parse(&text, Tz::America__New_York) {
                accepted += 1;
                let _ = s.upcoming(after, 3);
            }
        }
        assert!(
            accepted > 0,
            "the generator should hit some valid expressions"
        );
    }
}
