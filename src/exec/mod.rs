//! The executor. (in progress)
