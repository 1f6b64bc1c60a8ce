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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
}

const CHUNK: usize = 4 << 20;
/// A single record larger than this is refused rather than buffered without end.
pub const MAX_RECORD: usize = 64 << 20;

/// Reads every record of `reader`, giving each candidate to `sink` and each problem to
/// `on_problem`. A read error (which includes corrupt compressed data) ends the stream with
/// one last problem; the records before it have been given to the sink.
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
    /// Set while skipping a broken region: the region's start and its first error.
    broken: Option<Problem>,
    /// A read error that came after some bytes of the same read: those bytes are framed
    /// first, then the error ends the stream.
    pending_error: Option<io::Error>,
    stats: FrameStats,
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
            broken: None,
            pending_error: None,
            stats: FrameStats::default(),
        }
    }

    fn run(mut self) -> FrameStats {
        if let Err(e) = self.frame() {
            let at = self.position(self.end);
            let message = format!("stopped reading: {e} (the records before this point were kept)");
            self.problem(Problem { at, message });
        }
        self.count_lines_to(self.base + self.end as u64);
        self.stats.lines = self.lines;
        self.stats
    }

    fn frame(&mut self) -> io::Result<()> {
        loop {
            // Skip separators between records.
            while self.start < self.end
                && matches!(
                    self.buf[self.start],
                    b' ' | b'\t' | b'\r' | b'\n' | b'[' | b']' | b','
                )
            {
                self.start += 1;
            }
            if self.start == self.end {
                if self.eof {
                    break;
                }
                self.fill()?;
                continue;
            }

            if self.broken.is_some() && self.buf[self.start] != b'{' {
                if !self.skip_to_brace()? {
                    break;
                }
                continue;
            }

            let at = if self.positions {
                self.position(self.start)
            } else {
                Position::default()
            };
            let outcome = (self.sink)(&self.buf[self.start..self.end], at);
            let flow = match outcome {
                Outcome::Accepted(n) => {
                    self.finish_broken_region();
                    self.stats.records += 1;
                    self.start += n;
                    Flow::Continue
                }
                Outcome::Rejected(n, message) if self.broken.is_none() => {
                    let at = self.position(self.start);
                    self.start += n;
                    self.problem(Problem { at, message })
                }
                Outcome::Rejected(..) => {
                    // Inside a broken region this is a fragment of the broken record.
                    self.start += 1;
                    Flow::Continue
                }
                Outcome::Invalid(e) if e.is_eof() && !self.eof => {
                    self.need_more()?;
                    Flow::Continue
                }
                Outcome::Incomplete if !self.eof => {
                    self.need_more()?;
                    Flow::Continue
                }
                Outcome::Incomplete => {
                    // The scan ran out of input: let serde say what is wrong.
                    let slice = &self.buf[self.start..self.end];
                    let mut values =
                        serde_json::Deserializer::from_slice(slice).into_iter::<IgnoredAny>();
                    match values.next() {
                        Some(Err(e)) => self.begin_broken(&e),
                        _ => {
                            let at = self.position(self.start);
                            self.broken.get_or_insert(Problem {
                                at,
                                message: "malformed record: truncated at end of input".to_string(),
                            });
                        }
                    }
                    self.start += 1;
                    Flow::Continue
                }
                Outcome::Skipped(_) if self.broken.is_some() => {
                    // Inside a broken region, an unwanted object may be a fragment of the
                    // broken record: keep looking for a record that is taken.
                    self.start += 1;
                    Flow::Continue
                }
                Outcome::Skipped(n) => {
                    self.stats.skipped += 1;
                    self.start += n;
                    Flow::Continue
                }
                Outcome::Invalid(e) if e.is_data() => self.data_error(e)?,
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

    /// The candidate is JSON but the sink could not use it: find where it ends and report
    /// it; if it turns out not to be complete JSON after all, it starts a broken region.
    fn data_error(&mut self, e: serde_json::Error) -> io::Result<Flow> {
        loop {
            let slice = &self.buf[self.start..self.end];
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
                    return Ok(self.problem(problem));
                }
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
            self.start += 1;
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

    #[test]
    fn records_larger_than_a_chunk_are_read_whole() {
        let big = "x".repeat(CHUNK + 100);
        let input = format!("{{\"pad\":\"{big}\",\"n\":1}}\n{{\"n\":2}}");
        let (got, problems) = collect(input.as_bytes());
        assert_eq!(got, vec![1, 2]);
        assert!(problems.is_empty());
    }
}
