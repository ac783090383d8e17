//! Demo. (in progress)
