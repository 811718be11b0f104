//! Logs for Terraform: one JSON object per line on stderr, with the keys
//! hclog uses (`@level`, `@message`, `@module`), so `TF_LOG=debug` or
//! `TF_LOG_PROVIDER=trace` shows provider logs at their own levels.

use std::io::Write;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// Installs the logger. The level comes from `TF_LOG_PROVIDER`, else
/// `TF_LOG`; without either only warnings and errors are written.
pub fn init() {
    let level = std::env::var("TF_LOG_PROVIDER")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("TF_LOG").ok().filter(|s| !s.is_empty()));
    let max = match level.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("trace") | Some("json") => Level::TRACE,
        Some("debug") => Level::DEBUG,
        Some("info") => Level::INFO,
        Some("error") => Level::ERROR,
        _ => Level::WARN,
    };
    let _ = tracing_subscriber::registry()
        .with(HclogLayer.with_filter(tracing_subscriber::filter::LevelFilter::from_level(max)))
        .try_init();
}

struct HclogLayer;

struct Fields(serde_json::Map<String, serde_json::Value>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(key(field), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(key(field), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(key(field), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(key(field), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(key(field), format!("{value:?}").into());
    }
}

fn key(field: &Field) -> String {
    match field.name() {
        "message" => "@message".to_string(),
        n => n.to_string(),
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for HclogLayer {
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields(serde_json::Map::new());
        event.record(&mut fields);
        let level = match *event.metadata().level() {
            Level::TRACE => "trace",
            Level::DEBUG => "debug",
            Level::INFO => "info",
            Level::WARN => "warn",
            Level::ERROR => "error",
        };
        fields.0.insert("@level".into(), level.into());
        fields.0.insert(
            "@timestamp".into(),
            timestamp(std::time::SystemTime::now()).into(),
        );
        fields
            .0
            .insert("@module".into(), "provider.terraform-provider-libvirt".into());
        if let Some(span) = ctx.event_span(event) {
            fields.0.insert("span".into(), span.name().into());
        }
        if let Ok(mut line) = serde_json::to_vec(&fields.0) {
            line.push(b'\n');
            let _ = std::io::stderr().lock().write_all(&line);
        }
    }
}

/// `time` as hclog writes it: RFC 3339 in UTC with microseconds (`2026-11-26T12:30:05.123456Z`).
/// Without it Terraform shows every provider line at 0001-01-01.
fn timestamp(time: std::time::SystemTime) -> String {
    let since = time.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (the proleptic Gregorian calendar, in 400-year eras).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3_600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_micros()
    )
}

#[cfg(test)]
mod timestamp_tests {
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_like_hclog() {
        assert_eq!(super::timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        // 2024-02-29 (a leap day) 23:59:59.5 UTC.
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_500);
        assert_eq!(super::timestamp(t), "2024-02-29T23:59:59.500000Z");
        // 2026-11-26T12:30:05.000123Z
        let t = UNIX_EPOCH + Duration::from_micros(1_795_696_205_000_123);
        assert_eq!(super::timestamp(t), "2026-11-26T12:30:05.000123Z");
    }
}
