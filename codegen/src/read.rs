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
