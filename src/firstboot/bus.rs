//! Applying first-boot settings on a running system through systemd-localed, -timedated and
//! -hostnamed (org.freedesktop.locale1, .timedate1, .hostname1), so the console keymap, the X11
//! layout and the clock's zone change at once and the daemons' own files and side effects (Debian's
//! /etc/default/locale and locale-gen, X11 keyboard config, /etc/timezone) stay theirs.
//!
//! The daemons are bus-activated on a systemd system: "answers" means a `Peer.Ping` to the name
//! succeeds. Calls are non-interactive (no polkit prompt); root may call them without one.

use zbus::OwnedVariant as OwnedValue;

const PEER: &str = "org.freedesktop.DBus.Peer";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";

/// One of the three daemons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    Locale,
    Time,
    Host,
}

impl Daemon {
    pub const ALL: [Daemon; 3] = [Daemon::Locale, Daemon::Time, Daemon::Host];

    /// The bus name, which is also the interface name.
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Locale => "org.freedesktop.locale1",
            Daemon::Time => "org.freedesktop.timedate1",
            Daemon::Host => "org.freedesktop.hostname1",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Daemon::Locale => "/org/freedesktop/locale1",
            Daemon::Time => "/org/freedesktop/timedate1",
            Daemon::Host => "/org/freedesktop/hostname1",
        }
    }

    /// The program behind the name, for messages.
    pub fn program(self) -> &'static str {
        match self {
            Daemon::Locale => "systemd-localed",
            Daemon::Time => "systemd-timedated",
            Daemon::Host => "systemd-hostnamed",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot reach the system bus: {0}")]
    NoBus(String),
    #[error("{} ({}) does not answer on the system bus: {detail}", .daemon.program(), .daemon.name())]
    NotAnswering { daemon: Daemon, detail: String },
    #[error("{} refused {what}: {detail}", .daemon.program())]
    Refused { daemon: Daemon, what: String, detail: String },
    #[error("{} returned an unexpected {property}: {detail}", .daemon.program())]
    BadReply { daemon: Daemon, property: &'static str, detail: String },
}

/// A connection to the system bus (or the bus at an address).
pub struct Daemons {
    conn: zbus::Connection,
}

impl Daemons {
    /// Connects to `address`, or to the system bus (honouring $DBUS_SYSTEM_BUS_ADDRESS).
    pub fn connect(address: Option<&str>) -> Result<Daemons, BusError> {
        let conn = zbus::block_on(async {
            let b = match address {
                Some(a) => zbus::connection::Builder::address(a),
                None => zbus::connection::Builder::system(),
            };
            b.build().await
        })
        .map_err(|e| BusError::NoBus(e.to_string()))?;
        Ok(Daemons { conn })
    }

    /// Whether `d` answers (activating it where the bus can).
    pub fn ping(&self, d: Daemon) -> Result<(), BusError> {
        zbus::block_on(self.conn.call_method(Some(d.name()), d.path(), Some(PEER), "Ping", &()))
            .map(|_| ())
            .map_err(|e| BusError::NotAnswering { daemon: d, detail: detail(&e) })
    }

    fn get(&self, d: Daemon, property: &'static str) -> Result<OwnedValue, BusError> {
        let reply = zbus::block_on(self.conn.call_method(Some(d.name()), d.path(), Some(PROPERTIES), "Get", &(d.name(), property)))
            .map_err(|e| BusError::NotAnswering { daemon: d, detail: detail(&e) })?;
        let v: OwnedValue = reply.body().deserialize().map_err(|e| BusError::BadReply { daemon: d, property, detail: e.to_string() })?;
        Ok(v)
    }

    fn get_string(&self, d: Daemon, property: &'static str) -> Result<String, BusError> {
        String::try_from(self.get(d, property)?).map_err(|e| BusError::BadReply { daemon: d, property, detail: e.to_string() })
    }

    /// locale1's `Locale`: the assignments in effect ("LANG=de_DE.UTF-8", …).
    pub fn locale(&self) -> Result<Vec<String>, BusError> {
        let d = Daemon::Locale;
        <Vec<String>>::try_from(self.get(d, "Locale")?).map_err(|e| BusError::BadReply {
            daemon: d,
            property: "Locale",
            detail: e.to_string(),
        })
    }

    /// locale1's `VConsoleKeymap` ("" when none is set).
    pub fn keymap(&self) -> Result<String, BusError> {
        self.get_string(Daemon::Locale, "VConsoleKeymap")
    }

    /// timedate1's `Timezone`.
    pub fn timezone(&self) -> Result<String, BusError> {
        self.get_string(Daemon::Time, "Timezone")
    }

    /// hostname1's `StaticHostname` ("" when none is set).
    pub fn static_hostname(&self) -> Result<String, BusError> {
        self.get_string(Daemon::Host, "StaticHostname")
    }

    fn call<B>(&self, d: Daemon, method: &str, what: String, body: &B) -> Result<(), BusError>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        zbus::block_on(self.conn.call_method(Some(d.name()), d.path(), Some(d.name()), method, body))
            .map(|_| ())
            .map_err(|e| BusError::Refused { daemon: d, what, detail: detail(&e) })
    }

    /// `SetLocale(as, b)`: the whole set of assignments, as `localectl set-locale` sends it.
    pub fn set_locale(&self, assignments: &[String]) -> Result<(), BusError> {
        self.call(Daemon::Locale, "SetLocale", format!("locale {}", assignments.join(" ")), &(assignments, false))
    }

    /// `SetVConsoleKeyboard(s, s, b, b)`, converting to an X11 layout as `localectl set-keymap` does.
    pub fn set_keymap(&self, keymap: &str) -> Result<(), BusError> {
        self.call(Daemon::Locale, "SetVConsoleKeyboard", format!("keymap {keymap:?}"), &(keymap, "", true, false))
    }

    /// `SetTimezone(s, b)`.
    pub fn set_timezone(&self, zone: &str) -> Result<(), BusError> {
        self.call(Daemon::Time, "SetTimezone", format!("time zone {zone:?}"), &(zone, false))
    }

    /// `SetStaticHostname(s, b)`.
    pub fn set_static_hostname(&self, name: &str) -> Result<(), BusError> {
        self.call(Daemon::Host, "SetStaticHostname", format!("host name {name:?}"), &(name, false))
    }
}

/// The error's text without zbus's wrapping, e.g. "Keymap de is not installed."
fn detail(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, Some(text), _) => format!("{text} ({name})"),
        zbus::Error::MethodError(name, None, _) => name.to_string(),
        zbus::Error::FDO(f) => f.to_string(),
        e => e.to_string(),
    }
}
