use std::collections::HashMap;
use std::io::Write;

use super::Printer;
use crate::engine::event::{ActivityState, Event, Timestamp, Totals};
use crate::engine::{Record, StepRef};
use crate::frontend::BuildPlan;
use crate::store::LayerInfo;
use crate::ui::visible::VisibleWriter;

/// Characters of one line of an error that plain progress prints (the JSON events keep it all).
const ERROR_LINE_MAX: usize = 1000;

/// A readable build log in the spirit of BuildKit's `--progress=plain`: every step gets a number,
/// its header names the stage and position, and output lines carry the seconds since the step began.
/// Everything it prints comes from the build, so all of it goes through [`VisibleWriter`].
pub struct PlainPrinter<W: Write + Send> {
    out: VisibleWriter<W>,
    plan: Option<BuildPlan>,
    numbers: HashMap<StepRef, usize>,
    activities: HashMap<String, usize>,
    started: HashMap<StepRef, Timestamp>,
    build_started: Option<Timestamp>,
    /// Build check warnings, printed after the build as BuildKit does.
    warnings: Vec<String>,
}

impl<W: Write + Send> PlainPrinter<W> {
    pub fn new(out: W) -> Self {
        Self {
            out: VisibleWriter(out),
            plan: None,
            numbers: HashMap::new(),
            activities: HashMap::new(),
            started: HashMap::new(),
            build_started: None,
            warnings: Vec::new(),
        }
    }

    fn number(&mut self, step: &StepRef) -> usize {
        let next = self.numbers.len() + self.activities.len() + 1;
        *self.numbers.entry(step.clone()).or_insert(next)
    }

    fn header(&self, step: &StepRef) -> String {
        let Some(stage) = self
            .plan
            .as_ref()
            .and_then(|p| p.stages.iter().find(|s| s.label() == step.stage))
        else {
            return format!("[{step}]");
        };
        let text = stage
            .steps
            .iter()
            .find(|s| s.index == step.index)
            // A header names the step; a 1 MB instruction stays in the plan and the JSON events.
            .map(|s| crate::frontend::brief::line(s.text.lines().next().unwrap_or_default(), 500))
            .unwrap_or_default();
        format!(
            "[{} {}/{}] {}",
            step.stage,
            step.index + 1,
            stage.steps.len(),
            text
        )
    }
}

fn layer_note(layer: &Option<LayerInfo>) -> String {
    match layer {
        // The digest comes later (`layer_digested`) when the layer's tar is not made yet.
        Some(l) if l.digest.is_empty() => format!(" ({})", human_bytes(l.size)),
        Some(l) => format!(" ({}, {})", human_bytes(l.size), short_digest(&l.digest)),
        None => String::new(),
    }
}

pub fn short_digest(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

/// `1.5 MB`-style sizes (decimal units, as docker prints them).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

impl<W: Write + Send> PlainPrinter<W> {
    fn log(&mut self, record: &Record, step: &StepRef, text: &str) -> std::io::Result<()> {
        let n = self.number(step);
        let since = self
            .started
            .get(step)
            .map(|t| record.time.since(*t).as_secs_f64())
            .unwrap_or(0.0);
        // A carriage return redraws a line on a terminal (progress bars): each redraw gets
        // a line of its own here rather than a visible ^M.
        for line in text.lines() {
            let mut redraws = line.split('\r').filter(|l| !l.is_empty()).peekable();
            if redraws.peek().is_none() {
                writeln!(self.out, "#{n} {since:.3} ")?;
            }
            for part in redraws {
                writeln!(self.out, "#{n} {since:.3} {part}")?;
            }
        }
        Ok(())
    }

    /// A backend's work outside the plan's steps, numbered after the steps seen so far.
    fn activity(
        &mut self,
        name: &str,
        state: ActivityState,
        text: &str,
        duration: Option<f64>,
    ) -> std::io::Result<()> {
        let next = self.numbers.len() + self.activities.len() + 1;
        let first = !self.activities.contains_key(name);
        let n = *self.activities.entry(name.to_string()).or_insert(next);
        // Seen first when already over (a cached vertex): its name still heads it.
        if first && state != ActivityState::Started {
            writeln!(self.out, "#{n} {name}")?;
        }
        let secs = duration.unwrap_or(0.0);
        match state {
            ActivityState::Started => writeln!(self.out, "#{n} {name}")?,
            ActivityState::Log => writeln!(self.out, "#{n} {text}")?,
            ActivityState::Done => writeln!(self.out, "#{n} DONE {secs:.1}s")?,
            ActivityState::Cached => writeln!(self.out, "#{n} CACHED")?,
            ActivityState::Failed => writeln!(self.out, "#{n} ERROR: {text}")?,
        }
        Ok(())
    }

    /// The result line, then the build checks' warnings gathered during the build.
    fn finished(
        &mut self,
        image: Option<&str>,
        totals: &Totals,
        error: Option<&str>,
    ) -> std::io::Result<()> {
        let hit = if totals.steps > 0 {
            100.0 * totals.cached as f64 / totals.steps as f64
        } else {
            0.0
        };
        match (image, error) {
            (Some(image), _) => writeln!(
                self.out,
                "built {image} in {:.1}s: {} steps, {} cached ({hit:.0}%), image {}",
                totals.duration,
                totals.steps,
                totals.cached,
                human_bytes(totals.image_size)
            )?,
            (None, Some(err)) => writeln!(
                self.out,
                "build failed after {:.1}s: {}",
                totals.duration,
                crate::frontend::brief::lines(err, ERROR_LINE_MAX)
            )?,
            (None, None) => writeln!(self.out, "build ended after {:.1}s", totals.duration)?,
        }
        let n = std::mem::take(&mut self.warnings);
        if !n.is_empty() {
            let s = if n.len() == 1 { "" } else { "s" };
            writeln!(self.out, "{} warning{s} found:", n.len())?;
            for w in n {
                writeln!(self.out, "{w}")?;
            }
        }
        Ok(())
    }
}

impl<W: Write + Send> Printer for PlainPrinter<W> {
    fn print(&mut self, record: &Record) -> std::io::Result<()> {
        match &record.event {
            Event::BuildStarted { plan, build_id } => {
                self.build_started = Some(record.time);
                writeln!(
                    self.out,
                    "building target {} (build {build_id})",
                    plan.target
                )?;
                self.plan = Some(plan.clone());
            }
            Event::StageSkipped { stage, reason } => {
                writeln!(self.out, "stage {stage} skipped: {reason}")?;
            }
            Event::StepQueued { .. } => {}
            Event::StepStarted { step, .. } => {
                let n = self.number(step);
                self.started.insert(step.clone(), record.time);
                let header = self.header(step);
                writeln!(self.out, "#{n} {header}")?;
            }
            Event::StepLog { step, text, .. } => self.log(record, step, text)?,
            Event::StepCached { step, layer, from } => {
                let n = self.number(step);
                let source = from
                    .as_ref()
                    .map(|f| format!(" (from {f})"))
                    .unwrap_or_default();
                writeln!(self.out, "#{n} CACHED{}{source}", layer_note(layer))?;
            }
            Event::CacheMiss { step, reason } => {
                let n = self.number(step);
                writeln!(self.out, "#{n} cache miss: {reason}")?;
            }
            Event::StepFinished {
                step,
                layer,
                duration,
            } => {
                let n = self.number(step);
                writeln!(self.out, "#{n} DONE {duration:.1}s{}", layer_note(layer))?;
            }
            Event::LayerDigested { step, layer } => {
                let n = self.number(step);
                writeln!(self.out, "#{n} layer {}", short_digest(&layer.digest))?;
            }
            Event::StepFailed {
                step,
                exit_code,
                message,
            } => {
                let n = self.number(step);
                let message = crate::frontend::brief::lines(message, ERROR_LINE_MAX);
                match exit_code {
                    Some(code) => writeln!(self.out, "#{n} ERROR: exit code {code}: {message}")?,
                    None => writeln!(self.out, "#{n} ERROR: {message}")?,
                }
            }
            Event::Paused { step } => {
                let header = self.header(step);
                writeln!(self.out, "paused before {header}")?;
            }
            Event::StageFinished { stage, .. } => {
                writeln!(self.out, "stage {stage} done")?;
            }
            Event::Warning {
                rule,
                message,
                file,
                line,
                column,
                fix,
                ..
            } => self.warnings.push(format!(
                " - {rule}: {message} ({file}:{line}:{column})\n   fix: {fix}"
            )),
            Event::Activity {
                name,
                state,
                text,
                duration,
            } => self.activity(name, *state, text, *duration)?,
            Event::BuildFinished {
                image,
                totals,
                error,
            } => self.finished(image.as_deref(), totals, error.as_deref())?,
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_docker() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
        assert_eq!(short_digest("sha256:0123456789abcdef"), "0123456789ab");
    }

    #[test]
    fn a_step_shows_its_size_at_once_and_its_digest_when_it_arrives() {
        let mut out = Vec::new();
        let mut p = PlainPrinter::new(&mut out);
        let step = StepRef::new("build", 1);
        let mut layer = LayerInfo {
            size: 2_000_000,
            compressed_size: 2_000_000,
            added: 3,
            ..LayerInfo::default()
        };
        let finished = Event::StepFinished {
            step: step.clone(),
            layer: Some(layer.clone()),
            duration: 1.3,
        };
        p.print(&Record::now(finished)).expect("print");
        layer.digest = format!("sha256:{}", "ab".repeat(32));
        layer.diff_id = layer.digest.clone();
        p.print(&Record::now(Event::LayerDigested { step, layer }))
            .expect("print");
        drop(p);
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text, "#1 DONE 1.3s (2.0 MB)\n#1 layer abababababab\n");
    }
}
