//! Text files as the edit modules (`lineinfile`, `blockinfile`, `replace`) see them.
//!
//! Ansible edits bytes; jig edits Rust strings so it can use Rust regexes. This module owns
//! the mapping between the two that loses nothing: UTF-8 files are read as UTF-8; any other
//! file is read one character per byte (Latin-1), with the user's patterns and lines mapped
//! the same way, so a regex sees exactly the bytes Python would and the file is written
//! back byte for byte. It also owns Python's two ways of splitting lines.

/// How a file's bytes became the text being edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// The file is valid UTF-8.
    Utf8,
    /// The file is not UTF-8: each byte is one character U+0000..U+00FF.
    Bytes,
}

/// A file's content as text, with the encoding needed to write it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    /// The content.
    pub text: String,
    /// How to turn [`Text::text`] back into bytes.
    pub encoding: Encoding,
}

impl Text {
    /// Decodes a file's bytes without losing any.
    pub fn decode(bytes: &[u8]) -> Text {
        match std::str::from_utf8(bytes) {
            Ok(s) => Text {
                text: s.to_string(),
                encoding: Encoding::Utf8,
            },
            Err(_) => Text {
                text: bytes.iter().map(|&b| char::from(b)).collect(),
                encoding: Encoding::Bytes,
            },
        }
    }

    /// Decodes with an explicit encoding name (`replace`'s `encoding`). UTF-8 falls back to
    /// byte-per-character text when the file is not valid UTF-8, which keeps every byte as
    /// Python's `surrogateescape` does.
    pub fn decode_as(bytes: &[u8], encoding: &str) -> Result<Text, String> {
        match normalise_encoding(encoding).as_str() {
            "utf8" | "utf" => Ok(Text::decode(bytes)),
            "latin1" | "iso88591" | "l1" | "cp819" | "iso8859" => Ok(Text {
                text: bytes.iter().map(|&b| char::from(b)).collect(),
                encoding: Encoding::Bytes,
            }),
            "ascii" | "usascii" => {
                if bytes.is_ascii() {
                    Ok(Text::decode(bytes))
                } else {
                    Err("the file is not ASCII; set encoding to utf-8 or latin-1".to_string())
                }
            }
            _ => Err(format!(
                "encoding '{encoding}' is not supported by jig (use utf-8, latin-1 or ascii)"
            )),
        }
    }

    /// A user-supplied string (a line, a pattern) mapped into this text's encoding.
    pub fn adapt(&self, user: &str) -> String {
        adapt(user, self.encoding)
    }

    /// The bytes of `text` in this encoding.
    pub fn encode(&self, text: &str) -> Vec<u8> {
        encode(text, self.encoding)
    }
}

fn normalise_encoding(e: &str) -> String {
    e.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// A user-supplied string mapped into `encoding`: in byte mode, each UTF-8 byte becomes one
/// character, as Ansible's `to_bytes` would see it.
pub fn adapt(user: &str, encoding: Encoding) -> String {
    match encoding {
        Encoding::Utf8 => user.to_string(),
        Encoding::Bytes => user.bytes().map(char::from).collect(),
    }
}

/// The bytes of `text` in `encoding`. In byte mode every character is below U+0100 because
/// both the file and every user string were mapped with [`adapt`].
pub fn encode(text: &str, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf8 => text.as_bytes().to_vec(),
        Encoding::Bytes => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect(),
    }
}

/// Python's `file.readlines()` on a binary file: lines end after each `\n`, which stays on
/// the line; a last line without `\n` is kept.
pub fn readlines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

/// Python's `bytes.splitlines(keepends=True)`: lines end at `\n`, `\r\n` or a lone `\r`.
pub fn splitlines_keepends(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(text[start..=i].to_string());
                start = i + 1;
            }
            b'\r' => {
                let end = if bytes.get(i + 1) == Some(&b'\n') {
                    i + 1
                } else {
                    i
                };
                lines.push(text[start..=end].to_string());
                i = end;
                start = end + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < text.len() {
        lines.push(text[start..].to_string());
    }
    lines
}

/// A line without its line ending (Python's `rstrip(b'\r\n')`: every trailing CR and LF).
pub fn strip_eol(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_files_round_trip_byte_for_byte() {
        let bytes = b"caf\xe9 \xff\n\x00end".to_vec();
        let t = Text::decode(&bytes);
        assert_eq!(t.encoding, Encoding::Bytes);
        assert_eq!(t.encode(&t.text), bytes);
        // A UTF-8 line added to such a file keeps its UTF-8 bytes.
        let added = format!("{}{}", t.text, t.adapt("ü"));
        assert_eq!(
            t.encode(&added),
            [bytes.as_slice(), "ü".as_bytes()].concat()
        );
    }

    #[test]
    fn utf8_files_stay_text() {
        let t = Text::decode("grüße\n".as_bytes());
        assert_eq!(t.encoding, Encoding::Utf8);
        assert_eq!(t.text, "grüße\n");
        assert_eq!(t.adapt("ü"), "ü");
    }

    #[test]
    fn explicit_encodings() {
        let t = Text::decode_as(b"\xe9", "latin-1").unwrap();
        assert_eq!(t.text, "é");
        assert_eq!(t.encode("é"), b"\xe9");
        assert!(Text::decode_as(b"\xe9", "ascii").is_err());
        assert!(Text::decode_as(b"x", "UTF-8").is_ok());
        assert!(
            Text::decode_as(b"x", "shift_jis")
                .unwrap_err()
                .contains("shift_jis")
        );
    }

    #[test]
    fn line_splitting_matches_python() {
        assert_eq!(readlines("a\r\nb\rc\nd"), vec!["a\r\n", "b\rc\n", "d"]);
        assert_eq!(readlines(""), Vec::<String>::new());
        assert_eq!(
            splitlines_keepends("a\r\nb\rc\nd"),
            vec!["a\r\n", "b\r", "c\n", "d"]
        );
        assert_eq!(splitlines_keepends("\r"), vec!["\r"]);
        assert_eq!(strip_eol("x\r\n\r"), "x");
    }
}
