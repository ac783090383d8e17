//! Widgets every flow shares: the page frame (title bar, body, help line), lists with search as
//! you type, text fields (masked for secrets), a gauge, a QR code and the centered dialog. They
//! draw from borrowed state and never keep any of their own between frames.

pub mod dialog;
pub mod format;
pub mod gauge;
pub mod input;
pub mod list;
pub mod page;
pub mod qr;
pub mod text;

pub use dialog::draw_dialog;
pub use input::TextField;
pub use list::{FilterList, ListNav};
pub use page::{Help, PageFrame, draw_page};
