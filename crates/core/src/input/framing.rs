//! Byte stream → JSON records, whatever the framing.
//!
//! One loop reads JSON lines, objects concatenated with no delimiter (Kinesis Firehose's
//! default), JSON arrays and single objects: at the top level, whitespace, `[`, `]` and `,`
//! separate records, and every other value is a record. The stream is read in chunks, so a
//! file of any size needs memory for one chunk plus the largest record.
//!
//! The framer never decides what a record means: it hands each candidate to a sink, which
//! parses it and says how many bytes it used. When a candidate is not valid JSON, the framer
//! reports the broken region once and resynchronises on the next `{` from which a whole
//! record parses, so a broken record never takes its valid neighbours with it.

use std::io::{self, Read};

use serde::de::IgnoredAny;

/// Where a problem or a record starts: 1-based line and column (in bytes) and the 0-based
/// byte offset, all in the decompressed stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub line: u64,
    pub column: u64,
    pub offset: u64,
}

/// A record or region the framer or the sink refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub at: Position,
    pub message: String,
}

/// What the sink made of a candidate that starts at the beginning of the slice it was given.
pub enum Outcome {
    /// A record was taken; it used this many bytes.
    Accepted(usize),
    /// The record is valid JSON of this many bytes but not a usable event.
    Rejected(usize, String),
    /// The bytes are not a complete JSON value (serde's error, relative to the slice).
    Invalid(serde_json::Error),
    /// The record continues past the bytes given: read more and ask again.
    Incomplete,
    /// The record (this many bytes) was passed over on purpose (another agent's).
    Skipped(usize),
}

/// Whether the reader goes on after a problem.
pub enum Flow {
    Continue,
    Stop,
}

/// Counts for one stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameStats {
    pub bytes: u64,
    pub records: u64,
    /// Records passed over unparsed (see [`Outcome::Skipped`]).
    pub skipped: u64,
    /// Line breaks read.
    pub lines: u64,
    pub problems: u64,
    /// The reader stopped early because `on_problem` said so.
    pub stopped: bool,
    /// The source itself failed (see `crate::input::SourceFailure`): the stream was not
    /// read to its end, where it failed.
    pub failed: Option<Problem>,
}

const CHUNK: usize = 4 << 20;
/// What the sink is first shown of a candidate outside line-framed input, at least (doubled
/// while the record needs more; twice the largest record so far once records are seen).
const WINDOW: usize = 16 << 10;
/// Dead-start passes per stream (each reads the rest of the input once).
const MAX_DEAD_PASSES: usize = 8;
/// serde_json refuses values nested deeper than this.
const MAX_DEPTH: usize = 128;
/// A single record larger than this is refused rather than buffered without end.
pub const MAX_RECORD: usize = 64 << 20;

/// Reads every record of `reader`, giving each candidate to `sink` and each problem to
/// `on_problem`. Corrupt compressed data ends the stream with one last problem (the
/// records before it have been given to the sink); a failure of the source itself ends it
/// with [`FrameStats::failed`].
pub fn read_records<R, S, P>(reader: R, mut sink: S, on_problem: P) -> FrameStats
where
    R: Read,
    S: FnMut(&[u8]) -> Outcome,
    P: FnMut(Problem) -> Flow,
{
    Framer::new(
        reader,
        move |bytes: &[u8], _| sink(bytes),
        on_problem,
        false,
    )
    .run()
}

/// [`read_records`], telling the sink where each candidate starts (which costs counting
/// the lines before it: `explain` locates records this way, the store does not).
pub fn read_records_at<R, S, P>(reader: R, sink: S, on_problem: P) -> FrameStats
where
    R: Read,
    S: FnMut(&[u8], Position) -> Outcome,
    P: FnMut(Problem) -> Flow,
{
    Framer::new(reader, sink, on_problem, true).run()
}

struct Framer<R, S, P> {
    reader: R,
    sink: S,
    on_problem: P,
    /// Whether the sink is told each candidate's position.
    positions: bool,
    buf: Vec<u8>,
    /// First unconsumed byte.
    start: usize,
    /// End of the filled part of `buf`.
    end: usize,
    eof: bool,
    /// Absolute stream offset of `buf[0]`.
    base: u64,
    /// Line counting: `lines` newlines lie before absolute offset `counted`, and the last of
    /// them is at absolute offset `last_newline` (or none).
    counted: u64,
    lines: u64,
    last_newline: Option<u64>,
    /// In line-framed input, the candidate's line ends here (absolute): no line break lies
    /// between the candidate's start and this offset. Lets the count of lines follow the
    /// records instead of searching the bytes for line breaks a second time.
    line_free_to: u64,
    /// Set while skipping a broken region: the region's start and its first error.
    broken: Option<Problem>,
    /// A read error that came after some bytes of the same read: those bytes are framed
    /// first, then the error ends the stream.
    pending_error: Option<io::Error>,
    stats: FrameStats,
    /// Whether records are lines (JSON lines), learnt from the input: then a record ends at
    /// its line at the latest, and a broken line never takes the next one with it.
    line_framed: bool,
    /// How much of the input the sink is shown for a candidate outside line-framed input.
    window: usize,
    /// The window a new candidate starts with.
    base_window: usize,
    /// The end of what the sink was shown for the current candidate.
    limit: usize,
    /// The last byte before `buf[0]`, to tell whether the buffer starts a line.
    last_byte_before_buffer: Option<u8>,
    /// `{`s that cannot start a record, after a candidate ran to the end of the input.
    dead: Option<DeadStarts>,
    dead_passes: usize,
    /// Whether the first candidate has looked at the line after it.
    looked_ahead: bool,
    /// How deep the separators are inside arrays of records.
    array_depth: u32,
}

impl<R, S, P> Framer<R, S, P>
where
    R: Read,
    S: FnMut(&[u8], Position) -> Outcome,
    P: FnMut(Problem) -> Flow,
{
    fn new(reader: R, sink: S, on_problem: P, positions: bool) -> Self {
        Framer {
            reader,
            sink,
            on_problem,
            positions,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            base: 0,
            counted: 0,
            lines: 0,
            last_newline: None,
            line_free_to: 0,
            broken: None,
            pending_error: None,
            stats: FrameStats::default(),
            line_framed: false,
            window: WINDOW,
            base_window: WINDOW,
            limit: 0,
            last_byte_before_buffer: None,
            dead: None,
            dead_passes: 0,
            looked_ahead: false,
            array_depth: 0,
        }
    }

    fn run(mut self) -> FrameStats {
        if let Err(e) = self.frame() {
            let at = self.position(self.end);
            if crate::input::is_source_failure(&e) {
                self.stats.failed = Some(Problem {
                    at,
                    message: format!("stopped reading: {e}"),
                });
            } else {
                let message =
                    format!("stopped reading: {e} (the records before this point were kept)");
                self.problem(Problem { at, message });
            }
        }
        self.count_lines_to(self.base + self.end as u64);
        self.stats.lines = self.lines;
        self.stats
    }

    fn frame(&mut self) -> io::Result<()> {
        loop {
            // Skip separators between records. Brackets are those of an array of records
            // (`[{...},{...}]`, also several back to back); an array inside one is a value
            // that is not an event (`[[]]`), reported once, its objects still read.
            while self.start < self.end
                && matches!(
                    self.buf[self.start],
                    b' ' | b'\t' | b'\r' | b'\n' | b'[' | b']' | b','
                )
            {
                if self.counted == self.base + self.start as u64 {
                    // Counted as it is passed (see `line_free_to`).
                    if self.buf[self.start] == b'\n' {
                        self.lines += 1;
                        self.last_newline = Some(self.counted);
                    }
                    self.counted += 1;
                }
                match self.buf[self.start] {
                    b'[' if self.broken.is_none() && self.array_depth > 0 => {
                        let at = self.position(self.start);
                        let message = "malformed record: not an event (an array inside the \
                                       array of records)"
                            .to_string();
                        if let Flow::Stop = self.problem(Problem { at, message }) {
                            self.stats.stopped = true;
                            return Ok(());
                        }
                        self.array_depth += 1;
                    }
                    b'[' => self.array_depth += 1,
                    b']' => self.array_depth = self.array_depth.saturating_sub(1),
                    _ => {}
                }
                self.start += 1;
            }
            if self.start == self.end {
                if self.eof {
                    break;
                }
                self.fill()?;
                continue;
            }

            if self.broken.is_some() {
                if self.buf[self.start] != b'{' {
                    if !self.skip_to_brace()? {
                        break;
                    }
                    continue;
                }
                if self
                    .dead
                    .as_ref()
                    .is_some_and(|d| d.contains(self.base + self.start as u64))
                {
                    // No record can be cut from here (see `DeadStarts`).
                    self.start += 1;
                    continue;
                }
            }

            // The first candidate of a stream may tell the framing before it is read: a
            // line followed by a line that is one whole object (only then, so that looking
            // ahead costs one line once).
            if !self.line_framed && !self.looked_ahead {
                self.looked_ahead = true;
                self.line_framed = self.looks_line_framed();
            }

            // What the sink is shown: in line-framed input, the candidate's line; otherwise
            // a window that grows only while the record needs more, so no scan of a small
            // record looks at more than the window.
            let limit = if self.line_framed {
                match memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                    Some(i) => {
                        self.line_free_to = self.base + (self.start + i) as u64;
                        self.start + i + 1
                    }
                    None if self.eof => self.end,
                    None => {
                        self.need_more()?;
                        continue;
                    }
                }
            } else {
                self.end.min(self.start.saturating_add(self.window))
            };
            self.limit = limit;
            // The window stops short of what was read; the candidate's line is whole.
            let cut = limit < self.end;
            let whole_line = self.line_framed && (self.eof || self.buf[limit - 1] == b'\n');
            let at = if self.positions {
                self.position(self.start)
            } else {
                Position::default()
            };
            let outcome = (self.sink)(&self.buf[self.start..limit], at);
            let flow = match outcome {
                Outcome::Accepted(n) => {
                    self.finish_broken_region();
                    self.stats.records += 1;
                    self.learn_framing(n);
                    self.pass_line_free(n);
                    self.start += n;
                    self.window = self.base_window;
                    Flow::Continue
                }
                Outcome::Rejected(n, message) if self.broken.is_none() => {
                    let at = self.position(self.start);
                    self.learn_framing(n);
                    self.start += n;
                    self.window = self.base_window;
                    self.problem(Problem { at, message })
                }
                Outcome::Rejected(..) => {
                    // Inside a broken region this is a fragment of the broken record.
                    self.start += 1;
                    Flow::Continue
                }
                Outcome::Invalid(ref e) if e.is_eof() && cut && !self.line_framed => {
                    self.window = self.window.saturating_mul(2);
                    Flow::Continue
                }
                Outcome::Incomplete if cut && !self.line_framed => {
                    self.window = self.window.saturating_mul(2);
                    Flow::Continue
                }
                Outcome::Invalid(e) if e.is_eof() && whole_line => self.unclosed_line(Some(&e)),
                Outcome::Incomplete if whole_line => self.unclosed_line(None),
                Outcome::Invalid(e) if e.is_eof() && !self.eof => {
                    self.need_more()?;
                    Flow::Continue
                }
                Outcome::Incomplete if !self.eof => {
                    self.need_more()?;
                    Flow::Continue
                }
                Outcome::Incomplete => {
                    if self.looks_line_framed() {
                        self.line_framed = true;
                        self.unclosed_line(None)
                    } else {
                        // The scan ran out of input: let serde say what is wrong, and mark
                        // the `{`s after it that cannot start a record either.
                        let slice = &self.buf[self.start..self.end];
                        let mut values =
                            serde_json::Deserializer::from_slice(slice).into_iter::<IgnoredAny>();
                        match values.next() {
                            Some(Err(e)) => self.begin_broken(&e),
                            _ => {
                                let at = self.position(self.start);
                                self.broken.get_or_insert(Problem {
                                    at,
                                    message: "malformed record: truncated at end of input"
                                        .to_string(),
                                });
                            }
                        }
                        self.mark_dead_starts();
                        self.start += 1;
                        Flow::Continue
                    }
                }
                Outcome::Skipped(_) if self.broken.is_some() => {
                    // Inside a broken region, an unwanted object may be a fragment of the
                    // broken record: keep looking for a record that is taken.
                    self.start += 1;
                    Flow::Continue
                }
                Outcome::Skipped(n) => {
                    self.stats.skipped += 1;
                    self.learn_framing(n);
                    self.pass_line_free(n);
                    self.start += n;
                    self.window = self.base_window;
                    Flow::Continue
                }
                Outcome::Invalid(e) if e.is_data() => self.data_error(e)?,
                Outcome::Invalid(e) if self.line_framed || self.looks_line_framed() => {
                    self.line_framed = true;
                    self.broken_line(&e)
                }
                Outcome::Invalid(e) => {
                    self.begin_broken(&e);
                    self.start += 1;
                    Flow::Continue
                }
            };
            if let Flow::Stop = flow {
                self.stats.stopped = true;
            }
            if self.stats.stopped {
                return Ok(());
            }
        }
        self.finish_broken_region();
        Ok(())
    }

    /// After a record of `n` bytes at `start`: the input is line-framed when a record that
    /// starts a line holds no line break and is followed by one.
    fn learn_framing(&mut self, n: usize) {
        self.base_window = self.base_window.max(n.saturating_mul(2)).min(MAX_RECORD);
        if self.line_framed || !self.at_line_start(self.start) {
            return;
        }
        let record = &self.buf[self.start..self.start + n];
        if memchr::memchr(b'\n', record).is_some() {
            return;
        }
        let after = self.buf[self.start + n..self.end]
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\r'));
        self.line_framed = after == Some(&b'\n');
    }

    /// Before the candidate's `n` bytes are consumed: when they lie before its line break
    /// and every line before them is counted, they are counted too (they hold no line
    /// break), so the count keeps up with the records without another search.
    fn pass_line_free(&mut self, n: usize) {
        let from = self.base + self.start as u64;
        let to = from + n as u64;
        if self.line_framed && self.counted == from && to <= self.line_free_to {
            self.counted = to;
        }
    }

    /// Whether buffer index `i` starts a line.
    fn at_line_start(&self, i: usize) -> bool {
        if i == 0 {
            return self.base == 0 || self.last_byte_before_buffer == Some(b'\n');
        }
        self.buf[i - 1] == b'\n'
    }

    /// For a broken candidate before the framing is known: whether it starts a line that
    /// is followed by a line holding exactly one whole object (then records are lines).
    fn looks_line_framed(&self) -> bool {
        if !self.at_line_start(self.start) {
            return false;
        }
        let rest = &self.buf[self.start..self.end];
        let Some(nl) = memchr::memchr(b'\n', rest) else {
            return false;
        };
        let next = &rest[nl + 1..];
        let line = match memchr::memchr(b'\n', next) {
            Some(i) => &next[..i],
            None if self.eof => next,
            None => return false,
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match super::scan::object(line, b"", 0, &mut Vec::new()) {
            super::scan::Extent::Complete(end) => line[end..].iter().all(u8::is_ascii_whitespace),
            _ => false,
        }
    }

    /// A record of line-framed input that its line ends before it closes: reported, and
    /// the next line read afresh.
    fn unclosed_line(&mut self, e: Option<&serde_json::Error>) -> Flow {
        self.finish_broken_region();
        let at = self.position(self.start);
        let line = self.line_end();
        let message = if self.buf[line - 1] != b'\n' {
            "malformed record: truncated at end of input".to_string()
        } else {
            let why = e
                .map(strip_position)
                .unwrap_or_else(|| "EOF while parsing".to_string());
            format!(
                "malformed record: not closed by the end of its line ({}); the next line is read as a new record",
                why.replace("EOF", "end of line")
            )
        };
        self.start = self.line_end();
        self.window = self.base_window;
        self.problem(Problem { at, message })
    }

    /// A syntax error in line-framed input: the rest of the line is skipped.
    fn broken_line(&mut self, e: &serde_json::Error) -> Flow {
        self.finish_broken_region();
        self.begin_broken(e);
        self.start = self.line_end();
        self.window = self.base_window;
        self.finish_broken_region();
        Flow::Continue
    }

    /// The start of the line after the candidate's (or the end of what was read).
    fn line_end(&self) -> usize {
        match memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
            Some(i) => self.start + i + 1,
            None => self.end,
        }
    }

    /// After a candidate ran to the end of the input: marks the `{`s from which no record
    /// can be cut, so the search for the next record does not scan to the end again from
    /// each of them (which made deep unclosed input quadratic).
    fn mark_dead_starts(&mut self) {
        let from = self.base + self.start as u64;
        if self.dead.as_ref().is_some_and(|d| d.covers(from)) {
            return;
        }
        if self.dead_passes >= MAX_DEAD_PASSES {
            return;
        }
        self.dead_passes += 1;
        let region = &self.buf[self.start..self.end];
        let mut dead = self
            .dead
            .take()
            .filter(|d| d.base <= from)
            .unwrap_or_else(|| DeadStarts::new(from, region.len()));
        dead.mark(from, region);
        self.dead = Some(dead);
    }

    /// The candidate is JSON but the sink could not use it: find where it ends and report
    /// it; if it turns out not to be complete JSON after all, it starts a broken region.
    fn data_error(&mut self, e: serde_json::Error) -> io::Result<Flow> {
        loop {
            let limit = if self.line_framed {
                self.limit
            } else {
                self.end
            };
            let slice = &self.buf[self.start..limit];
            let mut values = serde_json::Deserializer::from_slice(slice).into_iter::<IgnoredAny>();
            match values.next() {
                Some(Ok(_)) => {
                    let n = values.byte_offset();
                    if self.broken.is_some() {
                        // A fragment of the broken record (a nested object, for example).
                        self.start += 1;
                        return Ok(Flow::Continue);
                    }
                    let problem = Problem {
                        at: self.position_in_record(&e),
                        message: format!("malformed record: {}", strip_position(&e)),
                    };
                    self.start += n.max(1);
                    self.window = self.base_window;
                    return Ok(self.problem(problem));
                }
                Some(Err(x)) if self.line_framed => return Ok(self.unclosed_or_broken_line(&x)),
                Some(Err(x)) if x.is_eof() && !self.eof => self.need_more()?,
                Some(Err(x)) => {
                    self.begin_broken(&x);
                    self.start += 1;
                    return Ok(Flow::Continue);
                }
                None => {
                    self.start = self.end;
                    return Ok(Flow::Continue);
                }
            }
        }
    }

    fn unclosed_or_broken_line(&mut self, e: &serde_json::Error) -> Flow {
        if e.is_eof() {
            self.unclosed_line(Some(e))
        } else {
            self.broken_line(e)
        }
    }

    /// Starts (or continues) a broken region at the current candidate.
    fn begin_broken(&mut self, e: &serde_json::Error) {
        if self.broken.is_none() {
            let at = self.position(self.start);
            let message = if e.is_eof() {
                "malformed record: truncated at end of input".to_string()
            } else if self.buf[self.start] == b'{' || self.buf[self.start] == b'"' {
                format!("malformed record: {}", describe_syntax(e, at))
            } else {
                format!(
                    "malformed input: expected a JSON object, found {}",
                    describe_byte(self.buf[self.start])
                )
            };
            self.broken = Some(Problem { at, message });
        }
    }

    /// Reports the broken region that just ended, if any.
    fn finish_broken_region(&mut self) {
        if let Some(mut p) = self.broken.take() {
            let skipped = self.base + self.start as u64 - p.at.offset;
            p.message = format!("{} (skipped {} bytes)", p.message, skipped);
            if let Flow::Stop = self.problem(p) {
                self.stats.stopped = true;
            }
        }
    }

    fn problem(&mut self, p: Problem) -> Flow {
        self.stats.problems += 1;
        (self.on_problem)(p)
    }

    /// Inside a broken region: moves to the next `{`, reading more input as needed. Returns
    /// false at the end of input.
    fn skip_to_brace(&mut self) -> io::Result<bool> {
        loop {
            if let Some(i) = memchr::memchr(b'{', &self.buf[self.start..self.end]) {
                self.start += i;
                return Ok(true);
            }
            self.start = self.end;
            if self.eof {
                return Ok(false);
            }
            self.fill()?;
        }
    }

    /// The candidate at `start` continues past the buffered bytes.
    fn need_more(&mut self) -> io::Result<()> {
        if self.end - self.start >= MAX_RECORD {
            let at = self.position(self.start);
            self.broken.get_or_insert(Problem {
                at,
                message: format!("malformed record: larger than {} MiB", MAX_RECORD >> 20),
            });
            if self.line_framed {
                // The rest of this line is part of the oversized record.
                self.start = self.end;
            } else {
                self.start += 1;
            }
            return Ok(());
        }
        self.fill()
    }

    /// Moves the unconsumed tail to the front of the buffer and reads more after it.
    fn fill(&mut self) -> io::Result<()> {
        if let Some(e) = self.pending_error.take() {
            return Err(e);
        }
        if self.start > 0 {
            self.count_lines_to(self.base + self.start as u64);
            self.last_byte_before_buffer = Some(self.buf[self.start - 1]);
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        let want = (self.end + CHUNK).max(CHUNK);
        if self.buf.is_empty() {
            // A fresh zeroed allocation, not `resize`: the pages are zeroed by the system
            // as they are touched, so a small file (Firehose writes thousands) does not pay
            // for clearing the whole buffer (and an unoptimised build does not clear it a
            // byte at a time).
            self.buf = vec![0; want];
        } else if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let before = self.end;
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    self.stats.bytes += n as u64;
                    if self.buf.len() - self.end < 64 << 10 {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.end > before => {
                    self.pending_error = Some(e);
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Counts newlines up to absolute offset `to` (which must be inside the buffer).
    fn count_lines_to(&mut self, to: u64) {
        if to <= self.counted {
            return;
        }
        let from = (self.counted - self.base) as usize;
        let upto = (to - self.base) as usize;
        for i in memchr::memchr_iter(b'\n', &self.buf[from..upto]) {
            self.lines += 1;
            self.last_newline = Some(self.base + (from + i) as u64);
        }
        self.counted = to;
    }

    /// Line and column of buffer index `i`.
    fn position(&mut self, i: usize) -> Position {
        let offset = self.base + i as u64;
        self.count_lines_to(offset);
        let column = match self.last_newline {
            Some(nl) => offset - nl,
            None => offset + 1,
        };
        Position {
            line: self.lines + 1,
            column,
            offset,
        }
    }

    /// Absolute position of serde's error inside the record at `start`.
    fn position_in_record(&mut self, e: &serde_json::Error) -> Position {
        let record = self.position(self.start);
        if e.line() == 0 {
            return record;
        }
        // serde counts lines and columns from the start of the slice it was given.
        let mut line = record.line;
        let mut i = self.start;
        let mut line_start = None;
        while line < record.line + e.line() as u64 - 1 && i < self.end {
            if self.buf[i] == b'\n' {
                line += 1;
                line_start = Some(i + 1);
            }
            i += 1;
        }
        let col = (e.column() as u64).max(1);
        let (column, offset) = match line_start {
            None => (record.column + col - 1, record.offset + col - 1),
            Some(ls) => (col, self.base + ls as u64 + col - 1),
        };
        Position {
            line,
            column,
            offset,
        }
    }
}

/// Positions of `{` (absolute offsets from `base`) from which no record can be cut: read
/// from a position outside any string the way `scan::object` reads (strings and escapes
/// followed, braces counted), a `{` that is never closed before the end of the input, or
/// that encloses more than [`MAX_DEPTH`] levels (serde refuses those). A `{` inside a
/// string is never marked: read from there, quotes pair up differently.
struct DeadStarts {
    base: u64,
    /// Where the passes so far began (each covers the input after it).
    passes: Vec<u64>,
    bits: Vec<u64>,
}

impl DeadStarts {
    fn new(base: u64, len: usize) -> DeadStarts {
        DeadStarts {
            base,
            passes: Vec::new(),
            bits: vec![0; len / 64 + 1],
        }
    }

    fn covers(&self, at: u64) -> bool {
        self.passes.contains(&at)
    }

    fn contains(&self, at: u64) -> bool {
        let Some(i) = at
            .checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
        else {
            return false;
        };
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn set(&mut self, at: u64) {
        if let Some(i) = at
            .checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
            && let Some(w) = self.bits.get_mut(i / 64)
        {
            *w |= 1 << (i % 64);
        }
    }

    /// One pass over `bytes`, which start at absolute offset `from` outside any string.
    fn mark(&mut self, from: u64, bytes: &[u8]) {
        self.passes.push(from);
        // Open braces: (offset, deepest level inside, relative to it).
        let mut open: Vec<(u64, usize)> = Vec::new();
        let mut in_string = false;
        let mut escaped = false;
        for (i, &b) in bytes.iter().enumerate() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' => open.push((from + i as u64, 0)),
                b'}' => {
                    if let Some((at, inside)) = open.pop() {
                        if inside >= MAX_DEPTH {
                            self.set(at);
                        }
                        if let Some(parent) = open.last_mut() {
                            parent.1 = parent.1.max(inside + 1);
                        }
                    }
                }
                _ => {}
            }
        }
        for (at, _) in open {
            self.set(at);
        }
    }
}

/// serde_json's message without its " at line L column C" suffix (positions are ours).
fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn describe_syntax(e: &serde_json::Error, record: Position) -> String {
    let line = record.line + (e.line() as u64).max(1) - 1;
    format!("{} at line {line}", strip_position(e))
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts objects with a numeric "n" field; anything else valid is rejected.
    fn collect(input: &[u8]) -> (Vec<i64>, Vec<Problem>) {
        #[derive(serde::Deserialize)]
        struct Rec {
            n: i64,
        }
        let mut got = Vec::new();
        let mut problems = Vec::new();
        let stats = read_records(
            input,
            |bytes| {
                let mut it = serde_json::Deserializer::from_slice(bytes).into_iter::<Rec>();
                match it.next() {
                    Some(Ok(r)) => {
                        got.push(r.n);
                        Outcome::Accepted(it.byte_offset())
                    }
                    Some(Err(e)) => Outcome::Invalid(e),
                    None => Outcome::Accepted(bytes.len()),
                }
            },
            |p| {
                problems.push(p);
                Flow::Continue
            },
        );
        assert!(!stats.stopped);
        (got, problems)
    }

    #[test]
    fn every_framing_gives_the_same_records() {
        let framings: [&[u8]; 5] = [
            b"{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n",
            b"{\"n\":1}{\"n\":2}{\"n\":3}",
            b"[{\"n\":1},{\"n\":2},\n {\"n\":3}]",
            b"[\n  {\n    \"n\": 1\n  },\n  {\"n\":2}\n]\n[{\"n\":3}]",
            b"  {\"n\":1} {\"n\":2}\r\n{\"n\":3}",
        ];
        for f in framings {
            let (got, problems) = collect(f);
            assert_eq!(got, vec![1, 2, 3], "{}", String::from_utf8_lossy(f));
            assert!(problems.is_empty());
        }
    }

    #[test]
    fn a_truncated_line_does_not_take_the_next_record() {
        let (got, problems) = collect(b"{\"n\":1}\n{\"n\":\n{\"n\":3}\n");
        assert_eq!(got, vec![1, 3]);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].at.line, 2);
        assert_eq!(problems[0].at.column, 1);
    }

    #[test]
    fn a_truncated_string_swallowing_a_record_is_recovered() {
        let (got, problems) = collect(b"{\"n\":1}{\"x\":\"abc{\"n\":2}{\"n\":3}");
        assert_eq!(got, vec![1, 2, 3]);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].at.offset, 7);
    }

    #[test]
    fn a_wrong_type_is_reported_at_the_field() {
        let (got, problems) = collect(b"{\"n\":1}\n{\"n\":\"two\"}\n{\"n\":3}");
        assert_eq!(got, vec![1, 3]);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].at.line, 2);
        assert!(
            problems[0].message.contains("invalid type"),
            "{:?}",
            problems[0]
        );
    }

    #[test]
    fn garbage_between_records_is_one_problem() {
        let (got, problems) = collect(b"{\"n\":1}\x00\x01\xffgarbage{\"n\":2}");
        assert_eq!(got, vec![1, 2]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("0x00"), "{:?}", problems[0]);
    }

    #[test]
    fn truncation_at_end_of_input_is_reported() {
        let (got, problems) = collect(b"{\"n\":1}\n{\"n\":2, \"x\": [1,");
        assert_eq!(got, vec![1]);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("truncated"),
            "{:?}",
            problems[0]
        );
    }

    /// Like `ingest`'s sink: the scan finds the record's end, serde parses it. Returns the
    /// records (`n`), the problems, and how many bytes the sink was shown in all (the
    /// upper bound of its work).
    fn scan_collect(input: &[u8]) -> (Vec<i64>, Vec<Problem>, u64) {
        #[derive(serde::Deserialize)]
        struct Rec {
            n: i64,
        }
        let mut got = Vec::new();
        let mut problems = Vec::new();
        let mut shown = 0u64;
        read_records(
            input,
            |bytes| {
                shown += bytes.len() as u64;
                let end = match super::super::scan::object(bytes, b"", 0, &mut Vec::new()) {
                    super::super::scan::Extent::Incomplete => return Outcome::Incomplete,
                    super::super::scan::Extent::NotObject => {
                        return match serde_json::from_slice::<IgnoredAny>(bytes) {
                            Err(e) => Outcome::Invalid(e),
                            Ok(_) => Outcome::Rejected(bytes.len(), "not an object".into()),
                        };
                    }
                    super::super::scan::Extent::Complete(end) => end,
                };
                match serde_json::from_slice::<Rec>(&bytes[..end]) {
                    Ok(r) => {
                        got.push(r.n);
                        Outcome::Accepted(end)
                    }
                    Err(e) => Outcome::Invalid(e),
                }
            },
            |p| {
                problems.push(p);
                Flow::Continue
            },
        );
        (got, problems, shown)
    }

    #[test]
    fn in_json_lines_an_unclosed_record_ends_at_its_line() {
        // Line 2 opens three objects and closes none: line 3 is a record of its own.
        let input = b"{\"n\":1}\n{\"a\":{\"u\":\"zz\",\"f\":{\n{\"n\":3}\n{\"n\":4}\n";
        let (got, problems, _) = scan_collect(input);
        assert_eq!(got, vec![1, 3, 4]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].at.line, problems[0].at.column), (2, 1));
        assert!(
            problems[0]
                .message
                .contains("not closed by the end of its line"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_broken_first_line_does_not_take_the_second() {
        // The framing is not known yet when the first line breaks: the second line, one
        // whole object, says records are lines.
        let input = b"{\"a\":\"x\",\"f\":{\n{\"n\":2}\n{\"n\":3}";
        let (got, problems, _) = scan_collect(input);
        assert_eq!(got, vec![2, 3]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].at.line, 1);
    }

    #[test]
    fn every_broken_line_is_reported_at_its_own_line() {
        let input = b"{\"n\":1}\ngarbage\n{\"n\":\n{\"n\":4}\n{\"n\" 5}\n{\"n\":6}\n";
        let (got, problems, _) = scan_collect(input);
        assert_eq!(got, vec![1, 4, 6]);
        let lines: Vec<u64> = problems.iter().map(|p| p.at.line).collect();
        assert_eq!(lines, vec![2, 3, 5], "{problems:?}");
    }

    #[test]
    fn deep_unclosed_input_is_read_in_linear_work() {
        // 50,000 levels opened and never closed (250 KB): each `{` used to be scanned to
        // the end of the input, 12 GB in all.
        let input = "{\"a\":".repeat(50_000);
        let (got, problems, shown) = scan_collect(input.as_bytes());
        assert!(got.is_empty());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(shown < 4 * input.len() as u64, "{shown} bytes shown");
        // The same, closed deep inside, with a record after it.
        let input = format!(
            "{}{}{{\"n\":7}}",
            "{\"a\":".repeat(20_000),
            "}".repeat(10_000)
        );
        let (got, _, shown) = scan_collect(input.as_bytes());
        assert_eq!(got, vec![7]);
        assert!(shown < 200 * input.len() as u64, "{shown} bytes shown");
    }

    #[test]
    fn many_small_records_are_read_in_linear_work() {
        // Each record used to be shown the whole rest of the buffer (4 MiB), and the scan
        // looked through all of it for a quote that `{}` does not have.
        for input in [
            "{\"n\":1}\n".repeat(100_000),
            format!("{}\n", "{\"n\":1}".repeat(100_000)),
        ] {
            let (got, problems, shown) = scan_collect(input.as_bytes());
            assert_eq!(got.len(), 100_000);
            assert!(problems.is_empty());
            // At most the smallest window per record (it used to be the rest of the buffer).
            assert!(shown < 100_000 * 2 * WINDOW as u64, "{shown} bytes shown");
        }
    }

    #[test]
    fn records_larger_than_a_chunk_are_read_whole() {
        let big = "x".repeat(CHUNK + 100);
        let input = format!("{{\"pad\":\"{big}\",\"n\":1}}\n{{\"n\":2}}");
        let (got, problems) = collect(input.as_bytes());
        assert_eq!(got, vec![1, 2]);
        assert!(problems.is_empty());
    }
}
