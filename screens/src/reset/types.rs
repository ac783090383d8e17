//! The kiosk reset menu's facts, requests and messages. The PIN is a [`Zeroizing`] string and
//! never appears in Debug output.

use std::fmt;

use zeroize::Zeroizing;

/// What the app knows about the device before the menu starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResetFacts {
    /// The installed system's name, e.g. "Example OS".
    pub os_name: String,
    /// Its version, e.g. "42.1".
    pub os_version: String,
    /// The disk the system lives on, e.g. `/dev/nvme0n1`.
    pub disk: String,
    /// When the device was last reset (from the reset log), in words the app formats.
    pub last_reset: Option<String>,
    /// What a factory reset erases, one item per entry ("user data (/home)", "settings (/var)").
    pub erase: Vec<String>,
    /// What stays, one item per entry ("the operating system", "the boot partition").
    pub keep: Vec<String>,
    /// The profile sets a PIN: the menu asks for it first.
    pub pin_required: bool,
}

/// What the reset menu asks the app to do.
#[derive(Clone, PartialEq, Eq)]
pub enum Request {
    /// Check this PIN against the profile's hash; answer with [`Msg::PinResult`].
    CheckPin(Zeroizing<String>),
    /// Reset the device to its factory state now; answer with [`Msg::Step`] lines and finally
    /// [`Msg::Done`] or [`Msg::Failed`]. Sent only after the person typed the confirmation word.
    FactoryReset,
    /// Restart the machine.
    Reboot,
    /// Power the machine off.
    PowerOff,
    /// Leave the menu.
    Quit,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::CheckPin(_) => f.write_str("CheckPin([redacted])"),
            Request::FactoryReset => f.write_str("FactoryReset"),
            Request::Reboot => f.write_str("Reboot"),
            Request::PowerOff => f.write_str("PowerOff"),
            Request::Quit => f.write_str("Quit"),
        }
    }
}

/// One step of the factory reset (the engine's `reset::ResetStep`, and the request for the next
/// boot), typed so that the menu says it in its language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetStepView {
    /// Destroy a partition's contents beyond recovery.
    Erase { number: u32, label: String, size: u64 },
    /// Write the table without the erased partitions; `left` remain.
    TableWithout { left: usize },
    /// Erase the old partition table.
    Wipe,
    /// Clear a re-created partition (and encrypt it).
    Clear { number: u32, label: String, encrypted: bool },
    /// Make a file system on a re-created partition (inside LUKS2 when encrypted).
    Format { number: u32, label: String, fs: String, encrypted: bool },
    /// Copy `size` bytes into a re-created partition.
    Copy { number: u32, label: String, size: u64, encrypted: bool },
    /// Write the final partition table.
    Table { partitions: usize },
    /// Read the copied partitions back.
    Verify,
    /// Point the boot entries at the new root.
    Boot,
    /// Check that every encrypted partition opens.
    Prove,
    /// Record the reset on the ESP.
    EspLog,
    /// The line recorded in the ESP's reset log.
    Logged { line: String },
    /// The reset was requested for the next boot: the EFI variable set and its value.
    Requested { variable: String, value: String },
    /// The next boot erases; restart to do it.
    RestartToReset,
}

/// What the app tells the reset menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Whether the PIN was right, answering [`Request::CheckPin`].
    PinResult(bool),
    /// The next try must wait this many seconds (after too many wrong PINs): said on the page;
    /// the app refuses earlier tries whatever the page does.
    PinWait(u64),
    /// One step of the factory reset.
    Step(ResetStepView),
    /// The factory reset finished.
    Done,
    /// The factory reset failed, with the error in words.
    Failed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pin_never_prints() {
        let text = format!("{:?}", Request::CheckPin(Zeroizing::new("4711".into())));
        assert_eq!(text, "CheckPin([redacted])");
    }
}
