//! What a run found: measured values, targets with their verdicts, the table and the JSON.

use std::fmt::Write as _;

pub struct Metric {
    pub key: String,
    pub label: String,
    pub value: f64,
    pub unit: &'static str,
}

pub struct Target {
    pub key: &'static str,
    pub label: &'static str,
    /// The measured ratio or bound.
    pub value: f64,
    /// `>=` or `<=` against `limit`.
    pub at_least: bool,
    pub limit: f64,
    pub unit: &'static str,
}

impl Target {
    pub fn met(&self) -> bool {
        if self.at_least {
            self.value >= self.limit
        } else {
            self.value <= self.limit
        }
    }
}

#[derive(Default)]
pub struct Report {
    pub metrics: Vec<Metric>,
    pub targets: Vec<Target>,
    pub skipped: Vec<(String, String)>,
}

impl Report {
    pub fn metric(
        &mut self,
        key: impl Into<String>,
        label: impl Into<String>,
        value: f64,
        unit: &'static str,
    ) {
        let (key, label) = (key.into(), label.into());
        eprintln!("  {label}: {value:.3} {unit}");
        self.metrics.push(Metric {
            key,
            label,
            value,
            unit,
        });
    }

    pub fn target(&mut self, t: Target) {
        self.targets.push(t);
    }

    pub fn skip(&mut self, group: &str, why: impl Into<String>) {
        self.skipped.push((group.to_string(), why.into()));
    }

    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<62} {:>14} unit",
            "measurement (median of runs)", "value"
        );
        for m in &self.metrics {
            let _ = writeln!(s, "{:<62} {:>14.3} {}", m.label, m.value, m.unit);
        }
        let _ = writeln!(
            s,
            "\n{:<62} {:>14} {:>10}  verdict",
            "target", "measured", "limit"
        );
        for t in &self.targets {
            let op = if t.at_least { ">=" } else { "<=" };
            let verdict = if t.met() { "met" } else { "MISSED" };
            let _ = writeln!(
                s,
                "{:<62} {:>14.3} {op}{:>8.3}  {verdict} ({})",
                t.label, t.value, t.limit, t.unit
            );
        }
        for (group, why) in &self.skipped {
            let _ = writeln!(s, "skipped: {group}: {why}");
        }
        s
    }

    pub fn json(&self, header: &[(&str, String)]) -> String {
        let mut s = String::from("{\n");
        for (k, v) in header {
            let _ = writeln!(s, "  {}: {},", quote(k), v);
        }
        s.push_str("  \"metrics\": [\n");
        for (i, m) in self.metrics.iter().enumerate() {
            let comma = if i + 1 < self.metrics.len() { "," } else { "" };
            let _ = writeln!(
                s,
                "    {{\"key\": {}, \"label\": {}, \"value\": {}, \"unit\": {}}}{comma}",
                quote(&m.key),
                quote(&m.label),
                number(m.value),
                quote(m.unit)
            );
        }
        s.push_str("  ],\n  \"targets\": [\n");
        for (i, t) in self.targets.iter().enumerate() {
            let comma = if i + 1 < self.targets.len() { "," } else { "" };
            let _ = writeln!(
                s,
                "    {{\"key\": {}, \"label\": {}, \"value\": {}, \"op\": {}, \"limit\": {}, \"unit\": {}, \"met\": {}}}{comma}",
                quote(t.key),
                quote(t.label),
                number(t.value),
                quote(if t.at_least { ">=" } else { "<=" }),
                number(t.limit),
                quote(t.unit),
                t.met()
            );
        }
        s.push_str("  ],\n  \"skipped\": [");
        let skipped: Vec<String> = self
            .skipped
            .iter()
            .map(|(g, w)| format!("{{\"group\": {}, \"why\": {}}}", quote(g), quote(w)))
            .collect();
        s.push_str(&skipped.join(", "));
        s.push_str("]\n}\n");
        s
    }
}

pub fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(q, "\\u{:04x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.6}")
    } else {
        "null".into()
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The `q`-quantile (0..=1) of sorted values.
pub fn quantile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i] as f64
}
