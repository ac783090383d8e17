//! Pure planning. (in progress)
