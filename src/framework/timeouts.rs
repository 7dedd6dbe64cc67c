//! The `timeouts { create, update, delete }` block and the waits it bounds.
//! Durations are written the way Terraform users know from other providers:
//! "30s", "10m", "1h30m".

use super::diag::{AttributePath, Diagnostics};
use super::schema::{Attribute, Block, NestedBlock};
use super::validators::Validator;
use super::value::{Type, Value};
use std::future::Future;
use std::time::{Duration, Instant};

/// The block's value, for typed state structs.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timeouts {
    pub create: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<String>,
    pub delete: Option<String>,
}

impl Timeouts {
    /// The configured duration for `operation`, or `default`.
    pub fn get(this: &Option<Timeouts>, operation: &str, default: Duration) -> Duration {
        let t = this.as_ref();
        let text = match operation {
            "create" => t.and_then(|t| t.create.as_deref()),
            "update" => t.and_then(|t| t.update.as_deref()),
            _ => t.and_then(|t| t.delete.as_deref()),
        };
        text.and_then(parse_duration).unwrap_or(default)
    }
}

/// The block, with the defaults named in each attribute's description.
pub fn block(create: Duration, update: Option<Duration>, delete: Duration) -> NestedBlock {
    let mut b = Block::new().description(
        "How long to wait for each operation before failing with the last state seen.",
    );
    let mut add = |name: &str, d: Duration| {
        b = std::mem::take(&mut b).attribute(
            Attribute::optional(name, Type::String)
                .description(&format!(
                    "How long {name} may take, e.g. `30s`, `10m`, `1h`. Defaults to `{}`.",
                    format_duration(d)
                ))
                .validate(DurationValidator),
        );
    };
    add("create", create);
    if let Some(u) = update {
        add("update", u);
    }
    add("delete", delete);
    NestedBlock::single("timeouts", b).provider_only()
}

/// The configured timeout for `operation`, or the default.
pub fn get(state: &Value, operation: &str, default: Duration) -> Duration {
    state
        .get("timeouts")
        .and_then(|t| t.attr_str(operation))
        .and_then(parse_duration)
        .unwrap_or(default)
}

pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut number = String::new();
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let c = rest.chars().next()?;
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            rest = &rest[1..];
            continue;
        }
        let (unit, len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if c == 'h' {
            (3600.0, 1)
        } else if c == 'm' {
            (60.0, 1)
        } else if c == 's' {
            (1.0, 1)
        } else {
            return None;
        };
        let n: f64 = number.parse().ok()?;
        total += n * unit;
        number.clear();
        rest = &rest[len..];
    }
    if !number.is_empty() || total > MAX_DURATION.as_secs_f64() {
        return None;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// Go's longest duration (2^63 - 1 ns, about 292 years), which Terraform's
/// own timeouts stop at too; deadlines a duration past now never overflow.
const MAX_DURATION: Duration = Duration::from_nanos(i64::MAX as u64);

pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s % 3600 == 0 && s > 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 && s > 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

struct DurationValidator;

impl Validator for DurationValidator {
    fn describe(&self) -> String {
        "a duration such as `30s`, `10m` or `1h30m`".into()
    }
    fn check(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if parse_duration(s).is_none() {
                diags.error_at(
                    path.clone(),
                    "Invalid duration",
                    format!("{s:?} is not a duration of at most 292 years: use a number with a unit, such as `30s`, `10m` or `1h30m`."),
                );
            }
        }
    }
}

/// Why a wait ended without the state it wanted.
pub enum WaitError<E> {
    TimedOut { last: Option<String> },
    Stopped,
    Failed(E),
}

/// Polls `check` with exponential backoff (from `first` up to 10 s) until it
/// returns `Some`, the timeout passes, or Terraform asks the provider to stop.
/// `check` returns `Ok(Err(description))` for "not yet, currently ...".
pub async fn poll<T, E, F, Fut, S>(
    timeout: Duration,
    first: Duration,
    stopped: S,
    mut check: F,
) -> Result<T, WaitError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Result<T, String>, E>>,
    S: Future<Output = ()>,
{
    let deadline = Instant::now() + timeout;
    let mut delay = first;
    let mut last: Option<String>;
    tokio::pin!(stopped);
    loop {
        match check().await {
            Ok(Ok(t)) => return Ok(t),
            Ok(Err(state)) => last = Some(state),
            Err(e) => return Err(WaitError::Failed(e)),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitError::TimedOut { last });
        }
        let sleep = delay.min(deadline - now);
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = &mut stopped => return Err(WaitError::Stopped),
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45s"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(
            parse_duration("2562047h"),
            Some(Duration::from_secs(2562047 * 3600))
        );
        for too_long in ["2562048h", "99999999999999999999h", "1e400s"] {
            assert_eq!(parse_duration(too_long), None, "{too_long}");
        }
        for bad in ["", "10", "m", "10x", "ten minutes"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
    }

    #[tokio::test]
    async fn poll_reports_the_last_state_on_timeout() {
        let r: Result<(), WaitError<()>> = poll(
            Duration::from_millis(30),
            Duration::from_millis(5),
            std::future::pending(),
            || async { Ok(Err("pending".to_string())) },
        )
        .await;
        assert!(matches!(r, Err(WaitError::TimedOut { last: Some(s) }) if s == "pending"));
    }
}
