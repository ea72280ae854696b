//! placeholder, replaced by the codegen pipeline
