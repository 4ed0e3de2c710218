//! Table tests for `invite_digest::schedule` through its public API, on a fixed clock.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use invite_digest::schedule::{parse_timezone, Schedule, ScheduleError};

const BERLIN: Tz = Tz::Europe__Berlin;
const NEW_YORK: Tz = Tz::America__New_York;

fn utc(text: &str) -> DateTime<Utc> {
    text.parse()
        .unwrap_or_else(|e| panic!("bad test time {text}: {e}"))
}

fn schedule(expr: &str, tz: Tz) -> Schedule {
    Schedule::parse(expr, tz).unwrap_or_else(|e| panic!("{expr:?} should parse: {e}"))
}

/// The next `n` firings after `from`, as local RFC 3339 with offset (unambiguous across DST).
fn next_n(expr: &str, tz: Tz, from: &str, n: usize) -> Vec<String> {
    schedule(expr, tz)
        .upcoming(utc(from), n)
        .iter()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .collect()
}

/// Same, formatted with the weekday for calendar-rule tests (UTC, minutes).
fn next_days(expr: &str, from: &str, n: usize) -> Vec<String> {
    schedule(expr, Tz::UTC)
        .upcoming(utc(from), n)
        .iter()
        .map(|t| t.format("%a %Y-%m-%d %H:%M").to_string())
        .collect()
}

fn reason(expr: &str) -> String {
    match Schedule::parse(expr, Tz::UTC) {
        Err(ScheduleError::InvalidExpression { reason, .. }) => reason,
        other => panic!("{expr:?} should be rejected, got {other:?}"),
    }
}

// 2026-01-01 is a Thursday.
const NEW_YEAR: &str = "2026-01-01T00:00:00Z";

#[test]
fn weekday_names_and_numbers() {
    let want = [
        "Thu 2026-01-01 08:30",
        "Fri 2026-01-02 08:30",
        "Mon 2026-01-05 08:30",
        "Tue 2026-01-06 08:30",
        "Wed 2026-01-07 08:30",
        "Thu 2026-01-08 08:30",
    ];
    for expr in [
        "30 8 * * Mon-Fri",
        "30 8 * * 1-5",
        "30 8 * * mon-FRI",
        "30 8 * * 1,2,3,4,5",
    ] {
        assert_eq!(next_days(expr, NEW_YEAR, 6), want, "{expr}");
    }
}

#[test]
fn sunday_is_zero_and_seven() {
    let sundays = ["Sun 2026-01-04 09:00", "Sun 2026-01-11 09:00"];
    for expr in ["0 9 * * 0", "0 9 * * 7", "0 9 * * Sun", "0 9 * * sun,7"] {
        assert_eq!(next_days(expr, NEW_YEAR, 2), sundays, "{expr}");
    }
    let weekend = [
        "Fri 2026-01-02 09:00",
        "Sat 2026-01-03 09:00",
        "Sun 2026-01-04 09:00",
        "Fri 2026-01-09 09:00",
    ];
    // 5-7 ends at the "7" Sunday; a named range may end at Sun too (read as 7).
    for expr in ["0 9 * * 5-7", "0 9 * * Fri-Sun", "0 9 * * 5-6,0"] {
        assert_eq!(next_days(expr, NEW_YEAR, 4), weekend, "{expr}");
    }
    // */2 over the week: Sun, Tue, Thu, Sat (0,2,4,6).
    assert_eq!(
        next_days("0 9 * * */2", NEW_YEAR, 4),
        [
            "Thu 2026-01-01 09:00",
            "Sat 2026-01-03 09:00",
            "Sun 2026-01-04 09:00",
            "Tue 2026-01-06 09:00"
        ]
    );
}

#[test]
fn ranges_steps_and_lists() {
    assert_eq!(
        next_days("*/15 * * * *", NEW_YEAR, 5),
        [
            "Thu 2026-01-01 00:15",
            "Thu 2026-01-01 00:30",
            "Thu 2026-01-01 00:45",
            "Thu 2026-01-01 01:00",
            "Thu 2026-01-01 01:15"
        ],
        "strictly after: 00:00 itself is not included"
    );
    assert_eq!(
        next_days("1-10/3 * * * *", NEW_YEAR, 5),
        [
            "Thu 2026-01-01 00:01",
            "Thu 2026-01-01 00:04",
            "Thu 2026-01-01 00:07",
            "Thu 2026-01-01 00:10",
            "Thu 2026-01-01 01:01"
        ]
    );
    assert_eq!(
        next_days("0,30 8,17 * * *", NEW_YEAR, 5),
        [
            "Thu 2026-01-01 08:00",
            "Thu 2026-01-01 08:30",
            "Thu 2026-01-01 17:00",
            "Thu 2026-01-01 17:30",
            "Fri 2026-01-02 08:00"
        ]
    );
    assert_eq!(
        next_days("0 9-11 * * *", NEW_YEAR, 4),
        [
            "Thu 2026-01-01 09:00",
            "Thu 2026-01-01 10:00",
            "Thu 2026-01-01 11:00",
            "Fri 2026-01-02 09:00"
        ]
    );
    // Mixed list items with steps, and "*" inside a list.
    assert_eq!(
        next_days("0 0 1-5/2,20 Jan *", "2025-12-31T23:59:00Z", 5),
        [
            "Thu 2026-01-01 00:00",
            "Sat 2026-01-03 00:00",
            "Mon 2026-01-05 00:00",
            "Tue 2026-01-20 00:00",
            "Fri 2027-01-01 00:00"
        ]
    );
    assert_eq!(
        next_days("0 0 *,1 * *", NEW_YEAR, 2),
        ["Fri 2026-01-02 00:00", "Sat 2026-01-03 00:00"]
    );
}

#[test]
fn month_names() {
    assert_eq!(
        next_days("0 0 1 Jan,Jul *", "2026-01-02T00:00:00Z", 3),
        [
            "Wed 2026-07-01 00:00",
            "Fri 2027-01-01 00:00",
            "Thu 2027-07-01 00:00"
        ]
    );
    assert_eq!(
        next_days("0 0 1 jun-AUG *", NEW_YEAR, 4),
        [
            "Mon 2026-06-01 00:00",
            "Wed 2026-07-01 00:00",
            "Sat 2026-08-01 00:00",
            "Tue 2027-06-01 00:00"
        ]
    );
    assert_eq!(
        next_days("0 0 1 6-8 *", NEW_YEAR, 4),
        next_days("0 0 1 Jun-Aug *", NEW_YEAR, 4)
    );
}

#[test]
fn shortcuts() {
    let from = "2026-01-01T10:20:00Z";
    let table: &[(&str, [&str; 2])] = &[
        ("@hourly", ["Thu 2026-01-01 11:00", "Thu 2026-01-01 12:00"]),
        ("@daily", ["Fri 2026-01-02 00:00", "Sat 2026-01-03 00:00"]),
        (
            "@midnight",
            ["Fri 2026-01-02 00:00", "Sat 2026-01-03 00:00"],
        ),
        ("@weekly", ["Sun 2026-01-04 00:00", "Sun 2026-01-11 00:00"]),
        ("@monthly", ["Sun 2026-02-01 00:00", "Sun 2026-03-01 00:00"]),
        ("@yearly", ["Fri 2027-01-01 00:00", "Sat 2028-01-01 00:00"]),
        (
            "@annually",
            ["Fri 2027-01-01 00:00", "Sat 2028-01-01 00:00"],
        ),
        ("@DAILY", ["Fri 2026-01-02 00:00", "Sat 2026-01-03 00:00"]),
        (
            "  @daily  ",
            ["Fri 2026-01-02 00:00", "Sat 2026-01-03 00:00"],
        ),
    ];
    for (expr, want) in table {
        assert_eq!(next_days(expr, from, 2), want, "{expr}");
    }
    assert!(schedule("@hourly", Tz::UTC).follows_real_time());
    assert!(!schedule("@daily", Tz::UTC).follows_real_time());
}

#[test]
fn six_fields_with_seconds() {
    let fmt = |expr: &str| -> Vec<String> {
        schedule(expr, Tz::UTC)
            .upcoming(utc(NEW_YEAR), 4)
            .iter()
            .map(|t| t.format("%d %H:%M:%S").to_string())
            .collect()
    };
    assert_eq!(
        fmt("30 0 8 * * *"),
        ["01 08:00:30", "02 08:00:30", "03 08:00:30", "04 08:00:30"]
    );
    assert_eq!(
        fmt("*/20 * * * * *"),
        ["01 00:00:20", "01 00:00:40", "01 00:01:00", "01 00:01:20"]
    );
    assert_eq!(
        fmt("0 30 8 * * Mon-Fri"),
        ["01 08:30:00", "02 08:30:00", "05 08:30:00", "06 08:30:00"]
    );
}

#[test]
fn day_of_month_or_day_of_week() {
    // Both restricted: every Friday OR every 13th (Vixie/cronie rule).
    assert_eq!(
        next_days("0 0 13 * Fri", NEW_YEAR, 6),
        [
            "Fri 2026-01-02 00:00",
            "Fri 2026-01-09 00:00",
            "Tue 2026-01-13 00:00",
            "Fri 2026-01-16 00:00",
            "Fri 2026-01-23 00:00",
            "Fri 2026-01-30 00:00"
        ]
    );
    // Either one '*': the other alone decides.
    assert_eq!(
        next_days("0 0 * * Fri", NEW_YEAR, 2),
        ["Fri 2026-01-02 00:00", "Fri 2026-01-09 00:00"]
    );
    assert_eq!(
        next_days("0 0 13 * *", NEW_YEAR, 2),
        ["Tue 2026-01-13 00:00", "Fri 2026-02-13 00:00"]
    );
    // A field that *starts with* '*' counts as unrestricted, as in Vixie/cronie, so "*/2" with a
    // weekday means AND: Mondays that fall on an odd day of the month.
    assert_eq!(
        next_days("0 0 */2 * Mon", NEW_YEAR, 4),
        [
            "Mon 2026-01-05 00:00",
            "Mon 2026-01-19 00:00",
            "Mon 2026-02-09 00:00",
            "Mon 2026-02-23 00:00"
        ]
    );
    // ...whereas "1-31/2" is a restriction, so it is OR: odd days or Mondays.
    assert_eq!(
        next_days("0 0 1-31/2 * Mon", "2025-12-31T23:59:00Z", 4),
        [
            "Thu 2026-01-01 00:00",
            "Sat 2026-01-03 00:00",
            "Mon 2026-01-05 00:00",
            "Wed 2026-01-07 00:00"
        ]
    );
}

#[test]
fn invalid_expressions_have_helpful_reasons() {
    let table = [
        ("", "empty"),
        ("   ", "empty"),
        ("* * *", "expected 5 fields"),
        ("* * * * * * *", "year field is Quartz"),
        ("61 * * * *", "minute field \"61\": 61 is out of range 0-59"),
        ("0 24 * * *", "hour field \"24\": 24 is out of range 0-23"),
        ("0 0 0 * *", "out of range 1-31"),
        ("0 0 32 * *", "out of range 1-31"),
        ("0 0 * 13 *", "out of range 1-12"),
        ("0 0 * * 8", "out of range 0-7 (0 and 7 are Sunday)"),
        ("60 0 0 * * *", "second field \"60\""),
        ("30 8 * * Fri-Mon", "runs backwards (5 > 1)"),
        ("30 8 * * Fri-Mon", "\"5-6,0-1\""),
        ("0 22-2 * * *", "\"22-23,0-2\""),
        ("0 0 * * 7-1", "runs backwards"),
        ("5/15 * * * *", "write \"5-59/S\" or \"*/S\""),
        ("*/0 * * * *", "step of 0"),
        ("*/ * * * *", "missing step"),
        ("*/x * * * *", "step \"x\" is not a number"),
        ("*/90 * * * *", "longer than the whole 0-59 range"),
        ("*/2/3 * * * *", "step \"2/3\" is not a number"),
        ("1,,2 * * * *", "empty list item"),
        ("1- * * * *", "needs a number on both sides"),
        ("-5 * * * *", "needs a number on both sides"),
        ("1-2-3 * * * *", "not a number"),
        ("+5 * * * *", "\"+5\" is not a number"),
        ("99999999999999999999 * * * *", "out of range 0-59"),
        ("0 Mon * * *", "\"Mon\" is not a number"),
        ("0 0 * * Monday", "use the first three letters: \"Mon\""),
        ("0 0 1 January *", "use the first three letters: \"Jan\""),
        ("0 0 * Foo *", "not a number or a month name (Jan-Dec)"),
        ("0 0 * * Xyz", "not a number or a day name (Sun-Sat)"),
        ("0 0 ? * Mon", "'?' is Quartz syntax"),
        ("0 0 L * *", "'L' and 'W' are Quartz/croner extensions"),
        ("0 0 15W * *", "'L' and 'W'"),
        ("0 12 * * Mon#1", "'#'"),
        ("@reboot", "@reboot has no meaning"),
        ("@fortnightly", "unknown shortcut"),
        ("@daily 0", "nothing may follow"),
        ("0 0 30 2 *", "can never fire"),
        ("0 0 31 Apr,Jun,Sep,Nov *", "can never fire"),
        (
            "30 8 * * * /usr/bin/backup",
            "day-of-week field \"/usr/bin/backup\"",
        ),
    ];
    for (expr, want) in table {
        let got = reason(expr);
        assert!(
            got.contains(want),
            "{expr:?}: reason {got:?} should contain {want:?}"
        );
    }
    // The Display form names the expression too.
    let err = Schedule::parse("61 * * * *", Tz::UTC).expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "invalid schedule \"61 * * * *\": minute field \"61\": 61 is out of range 0-59"
    );
}

#[test]
fn leap_day() {
    assert_eq!(
        next_days("0 0 29 2 *", NEW_YEAR, 3),
        [
            "Tue 2028-02-29 00:00",
            "Sun 2032-02-29 00:00",
            "Fri 2036-02-29 00:00"
        ]
    );
    // 2100 is not a leap year: eight years between firings.
    assert_eq!(
        next_days("0 0 29 2 *", "2096-03-01T00:00:00Z", 1),
        ["Fri 2104-02-29 00:00"]
    );
    // 29 Feb OR any Monday -- of February only: the month field still applies.
    assert_eq!(
        next_days("0 0 29 2 Mon", "2026-02-20T00:00:00Z", 3),
        [
            "Mon 2026-02-23 00:00",
            "Mon 2027-02-01 00:00",
            "Mon 2027-02-08 00:00"
        ]
    );
}

#[test]
fn next_after_is_strict() {
    let s = schedule("30 8 * * *", Tz::UTC);
    let slot = utc("2026-01-01T08:30:00Z");
    assert_eq!(s.next_after(slot), Some(utc("2026-01-02T08:30:00Z")));
    assert_eq!(
        s.next_after(utc("2026-01-01T08:29:59.999Z")),
        Some(slot),
        "sub-second before the slot"
    );
    assert_eq!(
        s.next_after(utc("2026-01-01T08:30:00.001Z")),
        Some(utc("2026-01-02T08:30:00Z"))
    );
}

// --- Daylight saving ------------------------------------------------------------------------
// Europe/Berlin 2026: spring forward 29 Mar 02:00 CET -> 03:00 CEST (01:00Z),
//                     fall back 25 Oct 03:00 CEST -> 02:00 CET (01:00Z).
// America/New_York 2026: spring forward 8 Mar 02:00 EST -> 03:00 EDT (07:00Z),
//                        fall back 1 Nov 02:00 EDT -> 01:00 EST (06:00Z).

#[test]
fn spring_forward_gap_runs_once_right_after_the_gap() {
    assert_eq!(
        next_n("30 2 * * *", BERLIN, "2026-03-28T12:00:00Z", 3),
        [
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
            "2026-03-31T02:30:00+02:00"
        ]
    );
    assert_eq!(
        next_n("30 2 * * *", NEW_YORK, "2026-03-07T12:00:00Z", 2),
        ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]
    );
    // Every minute of the missing hour collapses into one run at 03:00.
    assert_eq!(
        next_n("* 2 * * *", BERLIN, "2026-03-28T12:00:00Z", 2),
        ["2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"]
    );
    // A gap slot and a real 03:00 slot are one run, not two.
    assert_eq!(
        next_n("0,30 2,3 * * *", BERLIN, "2026-03-28T12:00:00Z", 3),
        [
            "2026-03-29T03:00:00+02:00",
            "2026-03-29T03:30:00+02:00",
            "2026-03-30T02:00:00+02:00"
        ]
    );
    // The digest's own use: a weekday-morning schedule is unaffected by the night change.
    assert_eq!(
        next_n("30 8 * * Mon-Fri", BERLIN, "2026-03-27T12:00:00Z", 2),
        ["2026-03-30T08:30:00+02:00", "2026-03-31T08:30:00+02:00"]
    );
}

#[test]
fn spring_forward_asked_just_before_the_gap_ends() {
    // The daemon may ask in the very last second before the jump; the gap slot is then due
    // exactly at the jump (01:00:00Z = 03:00 CEST), not tomorrow.
    let s = schedule("30 2 * * *", BERLIN);
    for after in ["2026-03-29T00:59:59Z", "2026-03-29T00:59:59.999Z"] {
        assert_eq!(
            s.next_after(utc(after)),
            Some(utc("2026-03-29T01:00:00Z")),
            "{after}"
        );
    }
    assert_eq!(
        s.next_after(utc("2026-03-29T01:00:00Z")),
        Some(utc("2026-03-30T00:30:00Z"))
    );
    assert_eq!(
        s.missed_slot(
            Some(utc("2026-03-28T12:00:00Z")),
            utc("2026-03-29T01:00:00Z")
        ),
        Some(utc("2026-03-29T01:00:00Z"))
    );
}

#[test]
fn unusual_transitions() {
    // Lord Howe Island moves its clocks by 30 minutes (02:00 -> 02:30 in October,
    // 02:00 -> 01:30 in April).
    let lord_howe = Tz::Australia__Lord_Howe;
    assert_eq!(
        next_n("15 2 * * *", lord_howe, "2026-10-03T00:00:00Z", 2),
        ["2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"]
    );
    assert_eq!(
        next_n("45 1 * * *", lord_howe, "2026-04-04T00:00:00Z", 2),
        ["2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"]
    );
    assert_eq!(
        next_n("*/20 * * * *", lord_howe, "2026-04-04T14:10:00Z", 5),
        [
            "2026-04-05T01:20:00+11:00",
            "2026-04-05T01:40:00+11:00",
            "2026-04-05T01:40:00+10:30",
            "2026-04-05T02:00:00+10:30",
            "2026-04-05T02:20:00+10:30"
        ]
    );
    // Samoa skipped Friday 30 December 2011 entirely: that day's run happens at the first
    // instant after the gap, midnight starting the 31st.
    assert_eq!(
        next_n("30 8 * * *", Tz::Pacific__Apia, "2011-12-29T00:00:00Z", 3),
        [
            "2011-12-29T08:30:00-10:00",
            "2011-12-31T00:00:00+14:00",
            "2011-12-31T08:30:00+14:00"
        ]
    );
    // Chile springs forward at midnight, so @daily's 00:00 does not exist that day.
    let santiago = Tz::America__Santiago;
    let days = next_n("@daily", santiago, "2026-09-04T12:00:00Z", 3);
    assert_eq!(
        days,
        [
            "2026-09-05T00:00:00-04:00",
            "2026-09-06T01:00:00-03:00",
            "2026-09-07T00:00:00-03:00"
        ]
    );
}

#[test]
fn spring_forward_real_time_jobs_skip_the_missing_wall_clock_times() {
    assert_eq!(
        next_n("30 * * * *", BERLIN, "2026-03-29T00:00:00Z", 3),
        [
            "2026-03-29T01:30:00+01:00",
            "2026-03-29T03:30:00+02:00",
            "2026-03-29T04:30:00+02:00"
        ]
    );
    assert_eq!(
        next_n("*/15 * * * *", NEW_YORK, "2026-03-08T06:40:00Z", 3),
        [
            "2026-03-08T01:45:00-05:00",
            "2026-03-08T03:00:00-04:00",
            "2026-03-08T03:15:00-04:00"
        ]
    );
}

#[test]
fn fall_back_overlap_runs_wall_clock_jobs_once() {
    assert_eq!(
        next_n("30 2 * * *", BERLIN, "2026-10-24T12:00:00Z", 3),
        [
            "2026-10-25T02:30:00+02:00",
            "2026-10-26T02:30:00+01:00",
            "2026-10-27T02:30:00+01:00"
        ]
    );
    assert_eq!(
        next_n("30 1 * * *", NEW_YORK, "2026-10-31T12:00:00Z", 2),
        ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]
    );
    // Starting inside the second pass (02:10 CET): 02:30 CEST already happened, so the next
    // run is tomorrow -- not the earlier instant of today's 02:30 (croner 2.2 returns that).
    assert_eq!(
        next_n("30 2 * * *", BERLIN, "2026-10-25T01:10:00Z", 1),
        ["2026-10-26T02:30:00+01:00"]
    );
    // Fixed hour, wildcard minutes: only the first pass of the repeated hour.
    assert_eq!(
        next_n("*/15 1 * * *", NEW_YORK, "2026-11-01T00:00:00Z", 5),
        [
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T01:15:00-04:00",
            "2026-11-01T01:30:00-04:00",
            "2026-11-01T01:45:00-04:00",
            "2026-11-02T01:00:00-05:00"
        ]
    );
}

#[test]
fn fall_back_real_time_jobs_run_in_both_passes() {
    assert_eq!(
        next_n("0 * * * *", BERLIN, "2026-10-24T23:30:00Z", 4),
        [
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T03:00:00+01:00",
            "2026-10-25T04:00:00+01:00"
        ]
    );
    let quarter_hours = next_n("*/15 * * * *", NEW_YORK, "2026-11-01T04:50:00Z", 10);
    assert_eq!(
        quarter_hours,
        [
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T01:15:00-04:00",
            "2026-11-01T01:30:00-04:00",
            "2026-11-01T01:45:00-04:00",
            "2026-11-01T01:00:00-05:00",
            "2026-11-01T01:15:00-05:00",
            "2026-11-01T01:30:00-05:00",
            "2026-11-01T01:45:00-05:00",
            "2026-11-01T02:00:00-05:00",
            "2026-11-01T02:15:00-05:00"
        ]
    );
    // Starting in the first pass: the rest of the first pass, then the second pass.
    assert_eq!(
        next_n("*/15 * * * *", NEW_YORK, "2026-11-01T05:40:00Z", 3),
        [
            "2026-11-01T01:45:00-04:00",
            "2026-11-01T01:00:00-05:00",
            "2026-11-01T01:15:00-05:00"
        ]
    );
    // Starting in the second pass: never back into the first.
    assert_eq!(
        next_n("*/15 * * * *", NEW_YORK, "2026-11-01T06:10:00Z", 2),
        ["2026-11-01T01:15:00-05:00", "2026-11-01T01:30:00-05:00"]
    );
    // "Every two hours" keeps real spacing too.
    assert_eq!(
        next_n("0 */2 * * *", BERLIN, "2026-10-24T21:30:00Z", 4),
        [
            "2026-10-25T00:00:00+02:00",
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T04:00:00+01:00"
        ]
    );
}

#[test]
fn a_year_of_firings_counts_real_hours_and_calendar_days() {
    let start = utc("2025-12-31T23:00:00Z"); // 2026-01-01 00:00 CET
    let end = utc("2026-12-31T23:00:00Z"); // 2027-01-01 00:00 CET
    let count = |expr: &str| {
        let s = schedule(expr, BERLIN);
        let mut t = start;
        let mut n = 0;
        while let Some(next) = s.next_after(t) {
            if next > end {
                break;
            }
            assert!(next > t, "{expr}: firings must strictly increase");
            n += 1;
            t = next;
        }
        n
    };
    // An hourly job fires once per real hour: 8760 in 2026 (the DST hour lost in March comes
    // back in October).
    assert_eq!(count("0 * * * *"), 365 * 24);
    // A wall-clock job fires once per day, including both DST nights.
    assert_eq!(count("30 2 * * *"), 365);
    assert_eq!(count("30 8 * * Mon-Fri"), 261);
}

// --- Catch-up -----------------------------------------------------------------------------------

#[test]
fn missed_slot_returns_the_latest_missed_firing_once() {
    let s = schedule("30 8 * * Mon-Fri", BERLIN);
    let friday = utc("2026-01-09T07:30:00Z"); // Fri 08:30 CET, the last digest sent
    let wednesday_noon = utc("2026-01-14T11:00:00Z");
    // Mon, Tue and Wed were missed: one catch-up, for Wednesday.
    let slot = s.missed_slot(Some(friday), wednesday_noon);
    assert_eq!(slot, Some(utc("2026-01-14T07:30:00Z")));
    // Once the attempt is recorded, nothing more to catch up.
    assert_eq!(s.missed_slot(Some(wednesday_noon), wednesday_noon), None);
    assert_eq!(s.missed_slot(slot, wednesday_noon), None);
    // Fresh install: no catch-up.
    assert_eq!(s.missed_slot(None, wednesday_noon), None);
    // Nothing due yet since the last run.
    assert_eq!(
        s.missed_slot(
            Some(utc("2026-01-12T07:30:00Z")),
            utc("2026-01-12T19:00:00Z")
        ),
        None
    );
    // The slot itself is inside (last, now].
    assert_eq!(
        s.missed_slot(Some(friday), utc("2026-01-12T07:30:00Z")),
        Some(utc("2026-01-12T07:30:00Z"))
    );
    // Clock went backwards.
    assert_eq!(s.missed_slot(Some(wednesday_noon), friday), None);
}

#[test]
fn missed_slot_after_a_long_gap_with_a_dense_schedule() {
    let s = schedule("*/5 * * * * *", Tz::UTC);
    assert_eq!(
        s.missed_slot(
            Some(utc("2025-01-01T00:00:00Z")),
            utc("2026-02-03T04:05:07.5Z")
        ),
        Some(utc("2026-02-03T04:05:05Z"))
    );
    let yearly = schedule("0 0 29 2 *", Tz::UTC);
    assert_eq!(
        yearly.missed_slot(
            Some(utc("2020-03-01T00:00:00Z")),
            utc("2030-01-01T00:00:00Z")
        ),
        Some(utc("2028-02-29T00:00:00Z"))
    );
}

#[test]
fn missed_slot_across_dst_changes() {
    // Down over the fall-back night: an hourly job's latest missed slot is in the second pass.
    let hourly = schedule("0 * * * *", BERLIN);
    assert_eq!(
        hourly.missed_slot(
            Some(utc("2026-10-24T20:00:00Z")),
            utc("2026-10-25T01:30:00Z")
        ),
        Some(utc("2026-10-25T01:00:00Z")) // 02:00 CET
    );
    // Down over the spring-forward night: the 02:30 job's slot is 03:00 CEST.
    let nightly = schedule("30 2 * * *", BERLIN);
    assert_eq!(
        nightly.missed_slot(
            Some(utc("2026-03-28T12:00:00Z")),
            utc("2026-03-29T05:00:00Z")
        ),
        Some(utc("2026-03-29T01:00:00Z"))
    );
}

// --- upcoming() and accessors -----------------------------------------------------------------

#[test]
fn upcoming_is_in_the_schedule_zone() {
    let s = schedule(" 30 8 * * Mon-Fri ", BERLIN);
    assert_eq!(s.expression(), "30 8 * * Mon-Fri");
    assert_eq!(s.timezone(), BERLIN);
    assert_eq!(s.to_string(), "\"30 8 * * Mon-Fri\" in Europe/Berlin");
    let next = s.upcoming(utc("2026-03-26T12:00:00Z"), 3);
    let shown: Vec<String> = next.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "2026-03-27 08:30:00 CET",
            "2026-03-30 08:30:00 CEST",
            "2026-03-31 08:30:00 CEST"
        ]
    );
    assert!(next.iter().all(|t| t.timezone() == BERLIN));
    assert!(s.upcoming(utc(NEW_YEAR), 0).is_empty());
}

// --- Time zones ---------------------------------------------------------------------------------

#[test]
fn parse_timezone_accepts_iana_names() {
    assert_eq!(parse_timezone("Europe/Berlin"), Ok(BERLIN));
    assert_eq!(parse_timezone(" America/New_York "), Ok(NEW_YORK));
    assert_eq!(parse_timezone("UTC"), Ok(Tz::UTC));
}

#[test]
fn parse_timezone_suggests_a_fix() {
    let hint = |name: &str| match parse_timezone(name) {
        Err(ScheduleError::UnknownTimezone { hint, .. }) => hint,
        other => panic!("{name:?} should be rejected, got {other:?}"),
    };
    assert_eq!(hint("europe/berlin").as_deref(), Some("Europe/Berlin"));
    assert_eq!(hint("Europe/Berln").as_deref(), Some("Europe/Berlin"));
    assert_eq!(hint("Berlin").as_deref(), Some("Europe/Berlin"));
    assert_eq!(hint("new york").as_deref(), Some("America/New_York"));
    assert_eq!(
        hint("America/New_Yrok").as_deref(),
        Some("America/New_York")
    );
    assert_eq!(hint("utc").as_deref(), Some("UTC"));
    assert_eq!(hint("Mars/Olympus_Mons"), None);
    assert_eq!(hint(""), None);

    let err = parse_timezone("Europe/Berln").expect_err("typo");
    assert_eq!(
        err.to_string(),
        "unknown time zone \"Europe/Berln\" (did you mean \"Europe/Berlin\"?)"
    );
    let err = parse_timezone("Mars/Olympus_Mons").expect_err("nonsense");
    assert!(err.to_string().contains("expected an IANA name"), "{err}");
}
