//! Block devices and image files: discovery (sysfs), the GPT, and the block copy.
//!
//! This is the only module that opens block devices or issues block ioctls. It knows nothing of
//! profiles or plans beyond the small data types passed in.

pub mod sysfs;
