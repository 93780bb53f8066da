//! How errors reach the terminal. An error's text may carry what a build, a context, an image or
//! a registry put there (file names, tags, RUN output, a registry's error body): every part of it
//! goes through [`visible`] before miette lays it out, so miette's own colours and frames stay the
//! only escape sequences on the screen.

use std::fmt;

use miette::{
    Diagnostic, LabeledSpan, MietteHandler, NamedSource, ReportHandler, Severity, SourceCode,
};

use crate::ui::visible::visible;

/// Installs the handler for every `miette::Report` this process prints. Call once at start.
pub fn install() {
    let _ = miette::set_hook(Box::new(|_| Box::new(VisibleHandler(MietteHandler::new()))));
}

/// Characters of one line of an error's text that reach the terminal.
const LINE_MAX: usize = 1000;

struct VisibleHandler(MietteHandler);

impl ReportHandler for VisibleHandler {
    fn debug(&self, diagnostic: &dyn Diagnostic, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug(&Shown::of(diagnostic), f)
    }
}

/// A diagnostic's text made visible, its source code too (with the labels moved to match).
struct Shown<'a> {
    inner: &'a dyn Diagnostic,
    message: String,
    help: Option<String>,
    cause: Option<Box<Cause>>,
    /// The source made visible, and the source as it was, when the two differ.
    source: Option<(NamedSource<String>, String)>,
}

#[derive(Debug)]
struct Cause {
    message: String,
    next: Option<Box<Cause>>,
}

impl<'a> Shown<'a> {
    fn of(inner: &'a dyn Diagnostic) -> Self {
        // Each line cut to a screenful: an error about a 1 MB instruction or path names it
        // without printing it (the source snippet below shows the line once).
        let shown =
            |text: String| visible(&crate::frontend::brief::lines(&text, LINE_MAX)).into_owned();
        let mut messages = Vec::new();
        let mut source = inner.source();
        while let Some(e) = source {
            messages.push(shown(e.to_string()));
            source = e.source();
        }
        let cause = messages.into_iter().rev().fold(None, |next, message| {
            Some(Box::new(Cause { message, next }))
        });
        Self {
            inner,
            message: shown(inner.to_string()),
            help: inner.help().map(|h| shown(h.to_string())),
            cause,
            source: visible_source(inner),
        }
    }

    /// Where byte `offset` of the original source is in the visible one.
    fn moved(&self, offset: usize) -> usize {
        match &self.source {
            None => offset,
            Some((_, original)) => {
                let mut at = offset.min(original.len());
                while !original.is_char_boundary(at) {
                    at -= 1;
                }
                visible(&original[..at]).len() + (offset - at)
            }
        }
    }
}

/// The whole source of `d`, made visible, when it holds control characters.
fn visible_source(d: &dyn Diagnostic) -> Option<(NamedSource<String>, String)> {
    let code = d.source_code()?;
    let all = code.read_span(&(0, 0).into(), 0, usize::MAX).ok()?;
    let original = String::from_utf8_lossy(all.data()).into_owned();
    let shown = visible(&original);
    if shown == original {
        return None;
    }
    let name = all.name().unwrap_or_default().to_string();
    Some((NamedSource::new(name, shown.into_owned()), original))
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.next.as_deref().map(|c| c as _)
    }
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Shown<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|c| c as _)
    }
}

impl Diagnostic for Shown<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.inner.code()
    }

    fn severity(&self) -> Option<Severity> {
        self.inner.severity()
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        match &self.source {
            Some((shown, _)) => Some(shown),
            None => self.inner.source_code(),
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let labels = self.inner.labels()?.map(|l| {
            let text = l.label().map(|t| visible(t).into_owned());
            let start = self.moved(l.offset());
            let span = (start, self.moved(l.offset() + l.len()) - start);
            if l.primary() {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            }
        });
        Some(Box::new(labels.collect::<Vec<_>>().into_iter()))
    }
}
