//! The crate's error type: one variant per pipeline stage.

/// Any failure of the pipeline, from reading the spec to rendering files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The spec text is not valid YAML or has the wrong shape.
    #[error(transparent)]
    Read(#[from] crate::read::ReadError),
    /// The spec is semantically invalid.
    #[error(transparent)]
    Validate(#[from] crate::validate::ValidateError),
    /// The committed migration history is inconsistent.
    #[error(transparent)]
    History(#[from] crate::render::migrations::HistoryError),
    /// The spec change cannot become a migration.
    #[error(transparent)]
    Diff(#[from] crate::render::migrations::DiffError),
    /// A template or formatting failure.
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
}
