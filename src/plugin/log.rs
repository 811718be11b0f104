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
