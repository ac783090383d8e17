//! Commands. (in progress)
