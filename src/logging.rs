//! Logs in the shape Terraform re-logs: one JSON object per line on stderr
//! with `@level`, `@message`, `@timestamp` (Go layout
//! `2006-01-02T15:04:05.000000Z07:00`), `@module` and the event's fields.
//!
//! Quiet by default: the level comes from `TF_LOG_PROVIDER`, else `TF_LOG`
//! (TRACE, DEBUG, INFO, WARN, ERROR; JSON or any other value means TRACE,
//! as Terraform reads them). Unset, empty or OFF means no subscriber at all,
//! so disabled logging costs one relaxed atomic load per call site. Our own
//! events follow the chosen level; those of dependencies (h2, hyper, tonic,
//! rustls) stop at INFO unless the level is TRACE, so DEBUG stays readable.

use std::fmt::Write as _;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer;

/// The `@module` of every line.
pub const MODULE: &str = "privatelink";

/// Parses a `TF_LOG`-style value (case-insensitive); `None` is OFF.
/// Terraform takes a value that names no level (`TF_LOG=1`) as TRACE, so
/// the provider logs what Terraform's own log around it shows.
pub fn parse_level(value: &str) -> Option<Level> {
    match value.trim().to_ascii_uppercase().as_str() {
        "" | "OFF" => None,
        "DEBUG" => Some(Level::DEBUG),
        "INFO" => Some(Level::INFO),
        "WARN" => Some(Level::WARN),
        "ERROR" => Some(Level::ERROR),
        _ => Some(Level::TRACE),
    }
}

/// The level chosen by the environment: `TF_LOG_PROVIDER` when set and
/// non-empty, else `TF_LOG`; `None` means no logs.
pub fn level_from_env() -> Option<Level> {
    let pick = |key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty());
    pick("TF_LOG_PROVIDER")
        .or_else(|| pick("TF_LOG"))
        .and_then(|v| parse_level(&v))
}

/// Installs the JSON-lines subscriber when the environment asks for logs.
/// Safe to call more than once (later calls do nothing).
pub fn init() {
    let Some(level) = level_from_env() else {
        return;
    };
    let _ = tracing_subscriber::registry()
        .with(JsonLines.with_filter(filter_for(level)))
        .try_init();
}

/// Our crate at `level`; dependencies at `level` capped at INFO, except
/// under TRACE.
pub fn filter_for(level: Level) -> Targets {
    let ours = LevelFilter::from_level(level);
    let deps = if level == Level::TRACE {
        LevelFilter::TRACE
    } else {
        ours.min(LevelFilter::INFO)
    };
    Targets::new().with_default(deps).with_target(MODULE, ours)
}

/// A layer writing each event as one JSON line to stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

impl<S: Subscriber> Layer<S> for JsonLines {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let line = format_event(event, std::time::SystemTime::now());
        // One write per line: stderr is unbuffered and Terraform reads lines.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// The lowercase level name Terraform expects in `@level`.
pub fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// Formats `at` in Go's `2006-01-02T15:04:05.000000Z07:00` layout, in UTC
/// (so the zone prints as `Z`).
pub fn format_timestamp(at: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Terraform reads the plugin's stderr a line at a time, up to 64 KiB: a
/// longer line arrives cut into raw fragments. Text values (an SDK's debug
/// dump of its whole configuration, say) are cut to this many bytes, and a
/// line still too long keeps only its message.
const MAX_VALUE_BYTES: usize = 8 * 1024;
const MAX_LINE_BYTES: usize = 60 * 1024;

/// `value`, cut at `MAX_VALUE_BYTES` (on a character boundary) with a note
/// of how much was left out.
fn bounded(value: &str) -> std::borrow::Cow<'_, str> {
    if value.len() <= MAX_VALUE_BYTES {
        return value.into();
    }
    let mut end = MAX_VALUE_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &value[..end], value.len() - end).into()
}

/// One event as a JSON line (with the trailing newline).
pub fn format_event(event: &Event<'_>, at: std::time::SystemTime) -> String {
    let meta = event.metadata();
    let mut fields = Fields::default();
    event.record(&mut fields);

    let mut out = String::with_capacity(160 + fields.rest.len());
    out.push_str("{\"@level\":\"");
    out.push_str(level_name(meta.level()));
    out.push_str("\",\"@message\":");
    push_json_str(&mut out, &fields.message);
    out.push_str(",\"@timestamp\":\"");
    out.push_str(&format_timestamp(at));
    out.push_str("\",\"@module\":\"");
    out.push_str(MODULE);
    out.push_str("\",\"@target\":");
    push_json_str(&mut out, meta.target());
    if out.len() + fields.rest.len() < MAX_LINE_BYTES {
        out.push_str(&fields.rest);
    } else {
        out.push_str(",\"@fields_left_out\":\"the line would pass Terraform's 64 KiB\"");
    }
    out.push_str("}\n");
    out
}

/// Collects `message` apart and every other field as `,"key":value`.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Fields {
    fn key(&mut self, field: &Field) {
        self.rest.push(',');
        push_json_str(&mut self.rest, field.name());
        self.rest.push(':');
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        self.record_str(field, &text);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let value = bounded(value);
        if field.name() == "message" {
            self.message.push_str(&value);
        } else {
            self.key(field);
            push_json_str(&mut self.rest, &value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.rest, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.rest, "{value}");
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.key(field);
        let _ = write!(self.rest, "{value}");
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.key(field);
        let _ = write!(self.rest, "{value}");
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.key(field);
            let _ = write!(self.rest, "{value}");
        } else {
            self.record_str(field, &value.to_string());
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.rest.push_str(if value { "true" } else { "false" });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // The error and its causes, like anyhow's "{:#}".
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            let _ = write!(text, ": {cause}");
            source = cause.source();
        }
        self.record_str(field, &text);
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn levels() {
        assert_eq!(parse_level("trace"), Some(Level::TRACE));
        assert_eq!(parse_level("JSON"), Some(Level::TRACE));
        assert_eq!(parse_level("Debug"), Some(Level::DEBUG));
        assert_eq!(parse_level("INFO"), Some(Level::INFO));
        assert_eq!(parse_level("WARN"), Some(Level::WARN));
        assert_eq!(parse_level("ERROR"), Some(Level::ERROR));
        assert_eq!(parse_level("OFF"), None);
        assert_eq!(parse_level("off"), None);
        assert_eq!(parse_level("1"), Some(Level::TRACE));
        assert_eq!(parse_level(""), None);
    }

    #[test]
    fn timestamp_layout() {
        let at = UNIX_EPOCH + Duration::new(1_795_443_906, 123_456_789);
        assert_eq!(format_timestamp(at), "2026-11-23T14:25:06.123456Z");
        let at = UNIX_EPOCH + Duration::new(0, 0);
        assert_eq!(format_timestamp(at), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn dependency_noise_capped_below_trace() {
        let f = filter_for(Level::DEBUG);
        assert!(f.would_enable("privatelink::plugin", &Level::DEBUG));
        assert!(!f.would_enable("privatelink::plugin", &Level::TRACE));
        assert!(!f.would_enable("h2::codec", &Level::DEBUG));
        assert!(f.would_enable("h2::codec", &Level::INFO));
        let f = filter_for(Level::TRACE);
        assert!(f.would_enable("h2::codec", &Level::TRACE));
        let f = filter_for(Level::WARN);
        assert!(!f.would_enable("tonic", &Level::INFO));
        assert!(f.would_enable("rustls", &Level::WARN));
    }

    #[test]
    fn json_escaping() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\nd\u{1}é");
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "a\"b\\c\nd\u{1}é");
    }

    /// A layer that keeps formatted lines, to test the format without stderr.
    struct Capture(Arc<Mutex<Vec<String>>>);

    impl<S: Subscriber> Layer<S> for Capture {
        fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
            let line = format_event(event, std::time::SystemTime::now());
            self.0.lock().unwrap().push(line);
        }
    }

    #[test]
    fn event_shape() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Capture(lines.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let err = std::io::Error::other("boom");
            tracing::warn!(
                count = 3u64,
                neg = -2i64,
                ok = true,
                ratio = 0.5,
                name = "x\"y",
                error = &err as &(dyn std::error::Error + 'static),
                "hello \"world\""
            );
        });
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].ends_with("}\n"));
        let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(v["@level"], "warn");
        assert_eq!(v["@message"], "hello \"world\"");
        assert_eq!(v["@module"], "privatelink");
        assert_eq!(v["count"], 3);
        assert_eq!(v["neg"], -2);
        assert_eq!(v["ok"], true);
        assert_eq!(v["ratio"].to_string(), "0.5");
        assert_eq!(v["name"], "x\"y");
        assert_eq!(v["error"], "boom");
        let ts = v["@timestamp"].as_str().unwrap();
        assert_eq!(ts.len(), "2026-11-23T14:05:06.123456Z".len(), "{ts}");
        assert!(ts.ends_with('Z'));
    }

    #[test]
    fn lines_stay_within_what_terraform_reads_whole() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Capture(lines.clone()));
        let dump = "é".repeat(40_000);
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(config = %dump, "{}", "m".repeat(20_000));
            tracing::debug!(
                a = %dump, b = %dump, c = %dump, d = %dump, e = %dump, f = %dump, g = %dump, h = %dump,
                "many dumps"
            );
        });
        let lines = lines.lock().unwrap();
        for line in lines.iter() {
            assert!(line.len() < 64 * 1024, "{} bytes", line.len());
            serde_json::from_str::<serde_json::Value>(line).expect("still one JSON object");
        }
        let one: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        let message = one["@message"].as_str().unwrap();
        assert!(
            message.ends_with(&format!("… ({} more bytes)", 20_000 - MAX_VALUE_BYTES)),
            "{}",
            &message[message.len() - 40..]
        );
        assert!(one["config"].as_str().unwrap().ends_with("more bytes)"));
        let many: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(many["@message"], "many dumps");
        assert!(
            many.get("a").is_none() && many.get("@fields_left_out").is_some(),
            "{many}"
        );
    }
}
