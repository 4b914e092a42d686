//! The Prometheus text exposition format, version 0.0.4: family headers, samples, histogram
//! series and the escaping each part needs.

use std::fmt::Write;

use super::histogram::Snapshot;

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a metric family is, as its `# TYPE` line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only ever goes up (until the process restarts).
    Counter,
    /// A value read at scrape time.
    Gauge,
    /// Cumulative buckets plus `_sum` and `_count`.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A sample value: integers print as integers, floats in Prometheus' spelling.
pub trait SampleValue {
    /// Appends the value to `out`.
    fn write_to(&self, out: &mut String);
}

impl SampleValue for u64 {
    fn write_to(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl SampleValue for f64 {
    fn write_to(&self, out: &mut String) {
        out.push_str(&float(*self));
    }
}

/// `f64` as Prometheus reads it: `+Inf`, `-Inf` and `NaN` spelled out, else Rust's shortest
/// round-trip form (`0.005`, `1`, `2.5`).
pub fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

/// An exposition being written, one family after another.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts the family `name` with its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample line: `name{labels} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl SampleValue) {
        self.out.push_str(name);
        write_labels(&mut self.out, labels, None);
        self.out.push(' ');
        value.write_to(&mut self.out);
        self.out.push('\n');
    }

    /// The series of one histogram: a cumulative `_bucket` per bound and `+Inf`, then `_sum`
    /// and `_count`.
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &Snapshot) {
        let bucket = format!("{name}_bucket");
        for (bound, count) in h.bounds.iter().zip(&h.cumulative) {
            self.bucket(&bucket, labels, &float(*bound), *count);
        }
        self.bucket(&bucket, labels, "+Inf", h.count);
        self.sample(&format!("{name}_sum"), labels, h.sum_seconds);
        self.sample(&format!("{name}_count"), labels, h.count);
    }

    fn bucket(&mut self, name: &str, labels: &[(&str, &str)], le: &str, count: u64) {
        self.out.push_str(name);
        write_labels(&mut self.out, labels, Some(le));
        let _ = writeln!(self.out, " {count}");
    }

    /// The finished text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// `{a="x",b="y"}` (nothing when there are no labels), with `le` last when given.
fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    let le = le.map(|v| ("le", v));
    let mut all = labels.iter().copied().chain(le).peekable();
    if all.peek().is_none() {
        return;
    }
    out.push('{');
    for (i, (name, value)) in all.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{name}=\"{}\"", escape_label(value));
    }
    out.push('}');
}

/// A label value: backslash, double quote and line feed escaped.
pub fn escape_label(value: &str) -> String {
    escape(value, true)
}

/// `# HELP` text: backslash and line feed escaped (a quote is literal there).
pub fn escape_help(text: &str) -> String {
    escape(text, false)
}

fn escape(text: &str, quote: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label("line\nnext"), "line\\nnext");
        assert_eq!(escape_label("plain-name_1"), "plain-name_1");
        assert_eq!(escape_label("ünïcode"), "ünïcode");
    }

    #[test]
    fn help_escapes_backslash_and_newline_but_not_quotes() {
        assert_eq!(escape_help("say \"hi\"\\\nbye"), "say \"hi\"\\\\\\nbye");
    }

    #[test]
    fn families_and_samples() {
        let mut e = Exposition::default();
        e.family("hookbox_x_total", Kind::Counter, "Things.\nCounted.");
        e.sample("hookbox_x_total", &[("source", "a\"b"), ("k", "v")], 3u64);
        e.family("hookbox_depth", Kind::Gauge, "Depth.");
        e.sample("hookbox_depth", &[], 0.25f64);
        assert_eq!(
            e.finish(),
            "# HELP hookbox_x_total Things.\\nCounted.\n\
             # TYPE hookbox_x_total counter\n\
             hookbox_x_total{source=\"a\\\"b\",k=\"v\"} 3\n\
             # HELP hookbox_depth Depth.\n\
             # TYPE hookbox_depth gauge\n\
             hookbox_depth 0.25\n"
        );
    }

    #[test]
    fn floats_use_prometheus_spelling() {
        assert_eq!(float(1.0), "1");
        assert_eq!(float(0.0005), "0.0005");
        assert_eq!(float(2.5), "2.5");
        assert_eq!(float(f64::INFINITY), "+Inf");
        assert_eq!(float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(float(f64::NAN), "NaN");
    }

    #[test]
    fn histogram_series_end_with_inf_sum_and_count() {
        let snapshot = Snapshot {
            bounds: &[0.01, 0.1],
            cumulative: vec![1, 3],
            count: 4,
            sum_seconds: 1.5,
        };
        let mut e = Exposition::default();
        e.histogram("h_seconds", &[("source", "s")], &snapshot);
        assert_eq!(
            e.finish(),
            "h_seconds_bucket{source=\"s\",le=\"0.01\"} 1\n\
             h_seconds_bucket{source=\"s\",le=\"0.1\"} 3\n\
             h_seconds_bucket{source=\"s\",le=\"+Inf\"} 4\n\
             h_seconds_sum{source=\"s\"} 1.5\n\
             h_seconds_count{source=\"s\"} 4\n"
        );
        let mut bare = Exposition::default();
        bare.histogram("h", &[], &snapshot);
        assert!(bare.finish().starts_with("h_bucket{le=\"0.01\"} 1\n"));
    }
}
