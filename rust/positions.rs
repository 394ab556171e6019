//! Byte offset -> (line, UTF-8 column, UTF-16 column) conversion.
//!
//! Invalid UTF-8 policy: text is parsed as the bytes it is; for UTF-16 columns every byte that is not
//! part of a valid UTF-8 sequence counts as one code unit (what a per-byte U+FFFD replacement gives).

use crate::symbol::Span;

pub struct LineIndex<'a> {
    source: &'a [u8],
    line_starts: Vec<usize>,
    /// Last UTF-16 lookup on a non-ASCII line, so forward scans along a long line stay linear.
    cursor: std::cell::Cell<(usize, usize, u32)>, // (line, byte, utf16 col)
}

/// UTF-16 code units in `bytes`, counting each invalid byte as one unit.
pub fn utf16_len(bytes: &[u8]) -> u32 {
    if bytes.is_ascii() {
        return bytes.len() as u32;
    }
    let mut units = 0u32;
    for chunk in bytes.utf8_chunks() {
        units += chunk.valid().chars().map(|c| c.len_utf16() as u32).sum::<u32>();
        units += chunk.invalid().len() as u32;
    }
    units
}

impl<'a> LineIndex<'a> {
    pub fn new(source: &'a [u8]) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', source).map(|i| i + 1));
        LineIndex {
            source,
            line_starts,
            cursor: std::cell::Cell::new((usize::MAX, 0, 0)),
        }
    }

    pub fn line_of(&self, byte: usize) -> usize {
        match self.line_starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// (line, utf8 column, utf16 column) of a byte offset.
    pub fn position(&self, byte: usize) -> (u32, u32, u32) {
        let byte = byte.min(self.source.len());
        let line = self.line_of(byte);
        let start = self.line_starts[line];
        let (c_line, c_byte, c_units) = self.cursor.get();
        let utf16 = if c_line == line && c_byte <= byte {
            c_units + utf16_len(&self.source[c_byte..byte])
        } else {
            utf16_len(&self.source[start..byte])
        };
        self.cursor.set((line, byte, utf16));
        (line as u32, (byte - start) as u32, utf16)
    }

    pub fn span(&self, start_byte: usize, end_byte: usize) -> Span {
        let (sl, s8, s16) = self.position(start_byte);
        let (el, e8, e16) = self.position(end_byte);
        Span {
            start_line: sl,
            start_utf8: s8,
            start_utf16: s16,
            end_line: el,
            end_utf8: e8,
            end_utf16: e16,
            start_byte,
            end_byte,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_in_utf8_and_utf16() {
        let src = "a = 1\n😀x = \"é\"\n".as_bytes();
        let idx = LineIndex::new(src);
        let x = src.iter().position(|&b| b == b'x').unwrap();
        assert_eq!(idx.position(x), (1, 4, 2));
        let e_end = src.len() - 2; // the closing quote
        assert_eq!(idx.position(e_end), (1, 11, 8));
    }

    #[test]
    fn invalid_bytes_count_one_unit_each() {
        let src = b"ab\xff\xfecd";
        let idx = LineIndex::new(src);
        assert_eq!(idx.position(5), (0, 5, 5));
        assert_eq!(utf16_len(b"\xe2\x82"), 2); // truncated sequence: two invalid bytes
    }
}
