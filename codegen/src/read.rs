//! Read stage: spec text → [`Spec`] (YAML syntax and shape errors, with locations).
//!
//! This stage never touches the filesystem: callers (build.rs, xtask, tests)
//! hand it the text and the path to show in messages.

use crate::locate::Location;
use crate::parse::Spec;

/// A YAML syntax error or a value of the wrong shape (unknown field, unknown
/// type, missing field...), located in the spec file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{location}: {message}")]
pub struct ReadError {
    /// The spec file path as given to [`read`].
    pub path: String,
    /// Where the error is (1-based line and column; 1:1 when serde_yaml gives none).
    pub location: Location,
    /// What is wrong, as reported by serde_yaml.
    pub message: String,
}

/// Decodes the bytes of a spec file as UTF-8; invalid UTF-8 is reported at
/// the line and column (in characters) of the first invalid byte.
pub fn decode<'b>(path: &str, bytes: &'b [u8]) -> Result<&'b str, ReadError> {
    std::str::from_utf8(bytes).map_err(|err| {
        let valid = &bytes[..err.valid_up_to()];
        // The prefix is valid UTF-8 by definition of `valid_up_to`.
        let prefix = std::str::from_utf8(valid).unwrap_or_default();
        let line = prefix.matches('\n').count() + 1;
        let line_start = prefix.rfind('\n').map(|p| p + 1).unwrap_or(0);
        let column = prefix[line_start..].chars().count() + 1;
        let byte = bytes.get(err.valid_up_to()).copied().unwrap_or_default();
        let what = match err.error_len() {
            Some(_) => format!("invalid UTF-8 byte 0x{byte:02X}"),
            None => format!("incomplete UTF-8 sequence (byte 0x{byte:02X}) at the end of the file"),
        };
        ReadError {
            path: path.to_owned(),
            location: Location { line, column },
            message: format!("{what}: the spec must be UTF-8 text (re-save the file as UTF-8)"),
        }
    })
}

/// Parses the spec text. `path` is shown in errors and generated headers.
pub fn read(path: &str, text: &str) -> Result<Spec, ReadError> {
    let normalized = text.replace("\r\n", "\n");
    match serde_yaml::from_str::<Spec>(&normalized) {
        Ok(mut spec) => {
            spec.source_path = path.to_owned();
            Ok(spec)
        }
        Err(err) => {
            let location = err
                .location()
                .map(|l| Location {
                    line: l.line(),
                    column: l.column(),
                })
                .unwrap_or(Location { line: 1, column: 1 });
            let full = err.to_string();
            // serde_yaml appends " at line L column C"; the location is shown up front instead.
            let message = match full.rfind(" at line ") {
                Some(pos) => full[..pos].to_owned(),
                None => full,
            };
            Err(ReadError {
                path: path.to_owned(),
                location,
                message,
            })
        }
    }
}
