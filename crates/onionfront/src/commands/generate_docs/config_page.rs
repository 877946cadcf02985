//! The man page onionfront.yaml(5), converted from docs/configuration.md (compiled in), so the
//! page and the document cannot drift apart.
//!
//! Conversion rules: the `#` title is dropped (the NAME section replaces it) and what precedes
//! the first `##` becomes DESCRIPTION; `##` headings become sections (upper case), `###`
//! subsections; code spans and bold become bold, emphasis italic, links their text; code blocks
//! are indented and unfilled; list items are bulleted (or numbered) paragraphs. A table becomes
//! one tagged paragraph per row: the first cell is the tag, and the other cells follow as
//! `Header: cell.` (a column without a header gives its cell alone).

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use roff::{Inline, Roff, bold, italic, line_break, roman};

/// docs/configuration.md, as built into this binary.
pub const CONFIGURATION_MD: &str = include_str!("../../../../../docs/configuration.md");

/// The page, as roff, for onionfront `version`.
pub fn render(markdown: &str, version: &str) -> String {
    let mut w = Writer::default();
    let source = format!("onionfront {version}");
    w.roff.control(
        "TH",
        [
            "ONIONFRONT.YAML",
            "5",
            env!("ONIONFRONT_COMMIT_DATE"),
            &source,
            "onionfront manual",
        ],
    );
    w.roff.control("SH", ["NAME"]);
    w.roff.text([roman(
        "onionfront.yaml - the configuration file of onionfront(1), config.yaml",
    )]);
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        w.event(event);
    }
    w.roff.control("SH", ["SEE ALSO"]);
    w.roff.text([roman(
        "onionfront(1), onionfront-check(1), onionfront-init(1), onionfront-run(1), \
         onionfront-status(1), tor(1)",
    )]);
    w.roff.render()
}

/// The conversion state.
#[derive(Default)]
struct Writer {
    roff: Roff,
    /// Inlines of the paragraph, heading or table cell being read.
    inlines: Vec<Inline>,
    bold: usize,
    italic: usize,
    /// Inside the title, whose text is dropped.
    in_title: bool,
    /// A section has been opened (else DESCRIPTION is opened on the first content).
    in_section: bool,
    /// Open lists: the next number of an ordered one, `None` for bullets.
    lists: Vec<Option<u64>>,
    /// Table being read: header cells, then rows of cells.
    header: Vec<Vec<Inline>>,
    rows: Vec<Vec<Vec<Inline>>>,
    row: Vec<Vec<Inline>>,
    in_code_block: bool,
}

impl Writer {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) if self.in_code_block => self.inlines.push(roman(t.to_string())),
            Event::Text(t) => self.push_text(t.to_string()),
            Event::Code(c) => self.inlines.push(bold(c.to_string())),
            Event::SoftBreak => self.push_text(" ".into()),
            Event::HardBreak => self.inlines.push(line_break()),
            Event::Rule => {
                self.flush();
                self.roff.control("PP", []);
            }
            _ => {}
        }
    }

    fn push_text(&mut self, t: String) {
        if self.in_title {
            return;
        }
        let inline = if self.bold > 0 {
            bold(t)
        } else if self.italic > 0 {
            italic(t)
        } else {
            roman(t)
        };
        self.inlines.push(inline);
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => {
                self.flush();
                self.in_title = level == HeadingLevel::H1;
            }
            Tag::Paragraph => {
                self.flush();
                self.open_section();
                if self.lists.is_empty() {
                    self.roff.control("PP", []);
                }
            }
            Tag::List(first) => {
                self.flush();
                self.open_section();
                self.lists.push(first);
            }
            Tag::Item => {
                self.flush();
                let mark = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}.", *n - 1)
                    }
                    _ => "\\(bu".to_string(),
                };
                let indent = if self.lists.len() > 1 { "5" } else { "3" };
                self.roff.control("IP", [mark.as_str(), indent]);
            }
            Tag::CodeBlock(_) => {
                self.flush();
                self.open_section();
                self.in_code_block = true;
                self.roff.control("PP", []);
                self.roff.control("RS", ["4"]);
                self.roff.control("nf", []);
            }
            Tag::Table(_) => {
                self.flush();
                self.open_section();
                self.header.clear();
                self.rows.clear();
            }
            Tag::TableRow => self.row.clear(),
            Tag::Strong => self.bold += 1,
            Tag::Emphasis => self.italic += 1,
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(level) => {
                let text = plain(&std::mem::take(&mut self.inlines));
                match level {
                    HeadingLevel::H1 => self.in_title = false,
                    HeadingLevel::H2 => {
                        self.in_section = true;
                        self.roff.control("SH", [text.to_uppercase().as_str()]);
                    }
                    _ => {
                        self.open_section();
                        self.roff.control("SS", [text.as_str()]);
                    }
                }
            }
            TagEnd::Paragraph | TagEnd::Item => self.flush(),
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                if self.lists.is_empty() {
                    self.roff.control("PP", []);
                }
            }
            TagEnd::CodeBlock => {
                let code: String = plain(&std::mem::take(&mut self.inlines));
                self.roff.text([roman(code.trim_end().to_string())]);
                self.roff.control("fi", []);
                self.roff.control("RE", []);
                self.in_code_block = false;
            }
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.inlines);
                self.row.push(cell);
            }
            TagEnd::TableHead => self.header = std::mem::take(&mut self.row),
            TagEnd::TableRow => self.rows.push(std::mem::take(&mut self.row)),
            TagEnd::Table => self.table(),
            TagEnd::Strong => self.bold = self.bold.saturating_sub(1),
            TagEnd::Emphasis => self.italic = self.italic.saturating_sub(1),
            _ => {}
        }
    }

    /// Write the pending inlines as one text line.
    fn flush(&mut self) {
        if !self.inlines.is_empty() {
            let inlines = std::mem::take(&mut self.inlines);
            self.roff.text(inlines);
        }
    }

    fn open_section(&mut self) {
        if !self.in_section {
            self.in_section = true;
            self.roff.control("SH", ["DESCRIPTION"]);
        }
    }

    /// One tagged paragraph per row (see the module doc).
    fn table(&mut self) {
        let headers: Vec<String> = self.header.iter().map(|h| plain(h)).collect();
        for row in std::mem::take(&mut self.rows) {
            let mut cells = row.into_iter();
            let Some(tag) = cells.next() else { continue };
            self.roff.control("TP", []);
            self.roff.text(tag);
            let mut body: Vec<Inline> = Vec::new();
            for (i, cell) in cells.enumerate() {
                if cell.is_empty() {
                    continue;
                }
                if !body.is_empty() {
                    body.push(roman(" "));
                }
                match headers.get(i + 1).filter(|h| !h.is_empty()) {
                    Some(h) => {
                        body.push(roman(format!("{h}: ")));
                        body.extend(cell);
                        body.push(roman("."));
                    }
                    None => body.extend(cell),
                }
            }
            if !body.is_empty() {
                self.roff.text(body);
            }
        }
        self.roff.control("PP", []);
    }
}

/// The text of `inlines`, without fonts.
fn plain(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|i| match i {
            Inline::Roman(s) | Inline::Bold(s) | Inline::Italic(s) => s.as_str(),
            Inline::LineBreak => "\n",
        })
        .collect()
}
