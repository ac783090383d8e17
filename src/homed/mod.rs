//! systemd-homed: build a JSON user record and create the home through
//! `org.freedesktop.home1.Manager` over D-Bus. The only module that talks to home1.
//!
//! The password is hashed here (libcrypt) into the record's `privileged` section; the plaintext
//! goes only into the `secret` section of the JSON handed to `CreateHome`, which lives in a
//! [`Secret`] and is never returned, logged or stored. Nothing here falls back to /etc/passwd by
//! itself: [`HomedError::NotRunning`] lets the caller offer a classic user.

pub mod cli;

use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::secret::Secret;

const DEST: &str = "org.freedesktop.home1";
const PATH: &str = "/org/freedesktop/home1";
const MANAGER: &str = "org.freedesktop.home1.Manager";

/// Where the home's data lives (homed's `storage` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// A LUKS2 image (needs device-mapper).
    Luks,
    /// A plain directory under /home.
    Directory,
    /// A btrfs subvolume under /home.
    Subvolume,
}

impl Storage {
    /// Each storage with its name (`--storage=`).
    pub const NAMES: [(&'static str, Storage); 3] =
        [("luks", Storage::Luks), ("directory", Storage::Directory), ("subvolume", Storage::Subvolume)];

    pub fn as_str(self) -> &'static str {
        match self {
            Storage::Luks => "luks",
            Storage::Directory => "directory",
            Storage::Subvolume => "subvolume",
        }
    }

    /// LUKS where this system has device-mapper, else a directory.
    pub fn default_for_system() -> Storage {
        // The kernel lists "device-mapper" in /proc/misc only when dm is really there; a
        // /dev/mapper/control node alone proves nothing (it exists on this project's machines).
        let misc = std::fs::read_to_string("/proc/misc").unwrap_or_default();
        if misc.lines().any(|l| l.split_whitespace().nth(1) == Some("device-mapper")) { Storage::Luks } else { Storage::Directory }
    }
}

/// A user to create.
#[derive(Debug)]
pub struct NewUser {
    pub name: String,
    pub real_name: Option<String>,
    pub password: Option<Secret>,
    pub storage: Storage,
    /// Member of `wheel`.
    pub admin: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum HomedError {
    #[error(
        "systemd-homed is not running on this system; create a classic /etc/passwd user instead \
         (useradd) or start systemd-homed.service"
    )]
    NotRunning,
    #[error("a user or home named '{0}' already exists; choose another name")]
    Exists(String),
    #[error("the password was refused: {0}")]
    PasswordRejected(String),
    #[error("not enough disk space for the new home")]
    NoSpace,
    #[error(
        "'{0}' is not a valid user name: use at most 31 letters, digits, '_' and '-', starting \
         with a letter or '_'"
    )]
    InvalidName(String),
    #[error("systemd-homed: {0}")]
    Bus(String),
}

/// systemd's `valid_user_group_name()` in strict mode (no relaxed characters).
pub fn valid_user_group_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 31
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

/// The user record without its secret section, and the full record (with `secret.password`)
/// for the `CreateHome` call only.
pub fn user_record(u: &NewUser) -> Result<(Value, Secret), HomedError> {
    if !valid_user_group_name(&u.name) {
        return Err(HomedError::InvalidName(u.name.clone()));
    }
    let mut rec = Map::new();
    rec.insert("userName".into(), json!(u.name));
    if let Some(r) = u.real_name.as_deref().filter(|r| !r.is_empty()) {
        if r.contains(['\n', ':']) {
            return Err(HomedError::Bus(format!("real name {r:?} may not contain ':' or a line break")));
        }
        rec.insert("realName".into(), json!(r));
    }
    rec.insert("disposition".into(), json!("regular"));
    rec.insert("storage".into(), json!(u.storage.as_str()));
    if u.admin {
        rec.insert("memberOf".into(), json!(["wheel"]));
    }
    let password = match &u.password {
        Some(p) => {
            if std::str::from_utf8(p.expose()).is_err() {
                return Err(HomedError::PasswordRejected("it is not valid UTF-8".into()));
            }
            let hash = crate::firstboot::crypt::hash_password(p)
                .ok()
                .ok_or_else(|| HomedError::PasswordRejected("it cannot be hashed (does it contain a NUL byte?)".into()))?;
            rec.insert("privileged".into(), json!({ "hashedPassword": [hash] }));
            Some(p)
        }
        None => None,
    };
    let public = Value::Object(rec);
    let mut full = json_exact(&public).map_err(|e| HomedError::Bus(e.to_string()))?;
    if let Some(p) = password {
        // The plaintext only ever sits in zeroizing buffers sized before it is written into
        // them (a buffer that grew would leave a copy behind): splice it in as a JSON string.
        let text = std::str::from_utf8(p.expose()).expect("checked above");
        let quoted = json_exact(text).map_err(|e| HomedError::Bus(e.to_string()))?;
        const HEAD: &[u8] = b",\"secret\":{\"password\":[";
        const TAIL: &[u8] = b"]}}";
        full.reserve_exact(HEAD.len() + quoted.len() + TAIL.len());
        full.pop(); // the closing '}'
        full.extend_from_slice(HEAD);
        full.extend_from_slice(&quoted);
        full.extend_from_slice(TAIL);
    }
    Ok((public, Secret::new(std::mem::take(&mut *full))))
}

/// `v` as JSON, written into a zeroizing buffer of exactly its size (measured first), so the
/// buffer never grows and leaves no copy of a secret in freed memory.
fn json_exact<T: serde::Serialize + ?Sized>(v: &T) -> Result<Zeroizing<Vec<u8>>, serde_json::Error> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    serde_json::to_writer(&mut n, v)?;
    let mut out = Zeroizing::new(Vec::with_capacity(n.0));
    serde_json::to_writer(&mut *out, v)?;
    Ok(out)
}

/// A parsed JSON user record, which may hold a `secret` section: held as
/// `Zeroizing<JsonRecord>` from the moment it is parsed, so its strings are wiped on every way
/// out, errors included.
struct JsonRecord(Value);

impl zeroize::Zeroize for JsonRecord {
    fn zeroize(&mut self) {
        #[cfg(test)]
        credential_tests::JSON_WIPES.with(|w| w.set(w.get() + 1));
        zeroize_json(&mut self.0);
    }
}

/// One row of `ListHomes`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HomeEntry {
    pub name: String,
    pub uid: u32,
    pub state: String,
    pub gid: u32,
    pub real_name: String,
    pub home_dir: String,
    pub shell: String,
    pub path: String,
}

fn connect(bus_address: Option<&str>) -> Result<zbus::Connection, HomedError> {
    zbus::block_on(async {
        let b = match bus_address {
            Some(a) => zbus::connection::Builder::address(a),
            None => zbus::connection::Builder::system(),
        };
        b.build().await
    })
    // No bus to reach means no homed either; the caller offers a classic user.
    .map_err(|_| HomedError::NotRunning)
}

fn call<B>(conn: &zbus::Connection, method: &str, body: &B) -> Result<zbus::message::Message, HomedError>
where
    B: serde::Serialize + zbus::zvariant::DynamicType,
{
    zbus::block_on(conn.call_method(Some(DEST), PATH, Some(MANAGER), method, body)).map_err(|e| map_error(&e, None))
}

/// Turns a D-Bus error from homed into a [`HomedError`]; `name` is the user the call was about.
fn map_error(e: &zbus::Error, name: Option<&str>) -> HomedError {
    let zbus::Error::MethodError(err, detail, _) = e else {
        // Well-known bus errors arrive as `Error::FDO`.
        return match e {
            zbus::Error::InputOutput(_) => HomedError::NotRunning,
            zbus::Error::FDO(f) => match &**f {
                zbus::fdo::Error::ServiceUnknown(_)
                | zbus::fdo::Error::NameHasNoOwner(_)
                | zbus::fdo::Error::SpawnServiceNotFound(_)
                | zbus::fdo::Error::NoServer(_) => HomedError::NotRunning,
                f => HomedError::Bus(f.to_string()),
            },
            e => HomedError::Bus(e.to_string()),
        };
    };
    classify(err.as_str(), detail.as_deref().unwrap_or_default(), name.unwrap_or_default())
}

/// homed's (and the bus's) error names, as systemd's bus-common-errors.h spells them.
fn classify(err: &str, detail: &str, who: &str) -> HomedError {
    match err {
        "org.freedesktop.DBus.Error.ServiceUnknown"
        | "org.freedesktop.DBus.Error.NameHasNoOwner"
        | "org.freedesktop.DBus.Error.Spawn.ServiceNotFound" => HomedError::NotRunning,
        "org.freedesktop.home1.UserNameExists" | "org.freedesktop.home1.HomeAlreadyExists" => HomedError::Exists(who.to_string()),
        "org.freedesktop.home1.BadPassword"
        | "org.freedesktop.home1.LowPasswordQuality"
        | "org.freedesktop.home1.BadPasswordAndNoToken" => HomedError::PasswordRejected(detail.to_string()),
        "org.freedesktop.home1.NoDiskSpace" | "System.Error.ENOSPC" | "System.Error.EDQUOT" => HomedError::NoSpace,
        other => HomedError::Bus(if detail.is_empty() { other.to_string() } else { detail.to_string() }),
    }
}

/// Whether homed answers on the bus (None: the system bus).
pub fn homed_available(bus_address: Option<&str>) -> bool {
    let Ok(conn) = connect(bus_address) else {
        return false;
    };
    zbus::block_on(conn.call_method(Some(DEST), PATH, Some("org.freedesktop.DBus.Peer"), "Ping", &())).is_ok()
}

/// Creates the user's home through `CreateHome` (None: the system bus).
pub fn create_home(bus_address: Option<&str>, u: &NewUser) -> Result<(), HomedError> {
    let (_, full) = user_record(u)?;
    create_home_from_record(bus_address, &u.name, u.storage.as_str(), &full)
}

/// `CreateHome` with a whole JSON user record (it may carry a `secret` section).
pub fn create_home_from_record(bus_address: Option<&str>, name: &str, storage: &str, record: &Secret) -> Result<(), HomedError> {
    let conn = connect(bus_address)?;
    let text = std::str::from_utf8(record.expose()).map_err(|e| HomedError::Bus(e.to_string()))?;
    zbus::block_on(conn.call_method(Some(DEST), PATH, Some(MANAGER), "CreateHome", &(text,))).map(|_| ()).map_err(|e| match e {
        zbus::Error::FDO(f) if matches!(*f, zbus::fdo::Error::NotSupported(_)) => HomedError::Bus(format!(
            "homed cannot make a home with storage {storage} on this system ({f}); LUKS needs device-mapper, \
                 subvolume needs btrfs on /home; try --storage directory"
        )),
        e => map_error(&e, Some(name)),
    })
}

/// The user records in `home.create.<user>` credentials, as `homectl firstboot` reads them: each
/// a JSON user record whose `userName` is filled in from the credential's name when missing and
/// must match it otherwise. Returns (user name, the record as JSON text), sorted by name.
pub fn records_from_credentials(dir: &std::path::Path) -> Result<Vec<(String, Secret)>, HomedError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(HomedError::Bus(format!("reading the credentials in {}: {e}", dir.display()))),
    };
    let mut out = Vec::new();
    for ent in rd.flatten() {
        let file = ent.file_name().to_string_lossy().into_owned();
        let Some(user) = file.strip_prefix("home.create.") else { continue };
        let bytes = Secret::new(std::fs::read(ent.path()).map_err(|e| HomedError::Bus(format!("reading the credential {file}: {e}")))?);
        let mut v = Zeroizing::new(JsonRecord(
            serde_json::from_slice(bytes.expose())
                .map_err(|e| HomedError::Bus(format!("the credential {file} is not a JSON user record: {e}")))?,
        ));
        let Some(obj) = v.0.as_object_mut() else {
            return Err(HomedError::Bus(format!("the credential {file} is not a JSON object")));
        };
        match obj.get("userName").and_then(|n| n.as_str()) {
            None => {
                obj.insert("userName".into(), user.into());
            }
            Some(n) if n != user => {
                return Err(HomedError::InvalidName(format!(
                    "the credential {file} holds a record for '{n}'; its userName must be '{user}'"
                )));
            }
            Some(_) => {}
        }
        if !valid_user_group_name(user) {
            return Err(HomedError::InvalidName(user.to_string()));
        }
        obj.entry("disposition").or_insert_with(|| "regular".into());
        // as homectl does on the client side: plaintext passwords in the secret section are
        // hashed into privileged.hashedPassword when the record brings no hashes of its own
        let plain: Vec<Secret> = obj
            .get("secret")
            .and_then(|s| s.get("password"))
            .and_then(|p| p.as_array())
            .map(|a| a.iter().filter_map(|p| p.as_str()).map(Secret::from_text).collect())
            .unwrap_or_default();
        let has_hashes = obj.get("privileged").and_then(|p| p.get("hashedPassword")).is_some();
        if !plain.is_empty() && !has_hashes {
            let hashes: Vec<serde_json::Value> = plain
                .iter()
                .map(|p| {
                    crate::firstboot::crypt::hash_password(p)
                        .ok()
                        .map(serde_json::Value::from)
                        .ok_or_else(|| HomedError::Bus("hashing the password failed".into()))
                })
                .collect::<Result<_, _>>()?;
            let privileged = obj.entry("privileged").or_insert_with(|| serde_json::json!({}));
            if let Some(p) = privileged.as_object_mut() {
                p.insert("hashedPassword".into(), hashes.into());
            }
        }
        let mut text = json_exact(&v.0).map_err(|e| HomedError::Bus(e.to_string()))?;
        out.push((user.to_string(), Secret::new(std::mem::take(&mut *text))));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn zeroize_json(v: &mut serde_json::Value) {
    use zeroize::Zeroize;
    match v {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(a) => a.iter_mut().for_each(zeroize_json),
        serde_json::Value::Object(o) => o.values_mut().for_each(zeroize_json),
        _ => {}
    }
}

/// Every home homed knows (`ListHomes`).
pub fn list_homes(bus_address: Option<&str>) -> Result<Vec<HomeEntry>, HomedError> {
    let conn = connect(bus_address)?;
    let reply = call(&conn, "ListHomes", &())?;
    type Row = (String, u32, String, u32, String, String, String, zbus::OwnedObjectPath);
    let rows: Vec<Row> = reply.body().deserialize().map_err(|e| HomedError::Bus(e.to_string()))?;
    Ok(rows
        .into_iter()
        .map(|(name, uid, state, gid, real_name, home_dir, shell, path)| HomeEntry {
            name,
            uid,
            state,
            gid,
            real_name,
            home_dir,
            shell,
            path: path.to_string(),
        })
        .collect())
}

/// The signed user record homed holds for `name`, and whether it is incomplete (privileged
/// parts left out for this caller).
pub fn user_record_by_name(bus_address: Option<&str>, name: &str) -> Result<(Value, bool), HomedError> {
    let conn = connect(bus_address)?;
    let reply =
        zbus::block_on(conn.call_method(Some(DEST), PATH, Some(MANAGER), "GetUserRecordByName", &(name,))).map_err(|e| match e {
            zbus::Error::MethodError(ref n, _, _) if n.as_str() == "org.freedesktop.home1.NoSuchHome" => {
                HomedError::Bus(format!("no home named '{name}'"))
            }
            e => map_error(&e, Some(name)),
        })?;
    let (json, incomplete, _path): (String, bool, zbus::OwnedObjectPath) =
        reply.body().deserialize().map_err(|e| HomedError::Bus(e.to_string()))?;
    let v = serde_json::from_str(&json).map_err(|e| HomedError::Bus(format!("homed sent a bad record: {e}")))?;
    Ok((v, incomplete))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, pw: Option<&str>) -> NewUser {
        NewUser {
            name: name.into(),
            real_name: Some("Alice \"A\" Liddell".into()),
            password: pw.map(Secret::from_text),
            storage: Storage::Directory,
            admin: true,
        }
    }

    #[test]
    fn names_follow_systemd() {
        for ok in ["alice", "_x", "a-b_c9", "A", &"a".repeat(31)] {
            assert!(valid_user_group_name(ok), "{ok}");
        }
        for bad in ["", "9a", "-a", "a.b", "a b", "ä", &"a".repeat(32), ".", "a:b"] {
            assert!(!valid_user_group_name(bad), "{bad}");
        }
        assert!(matches!(user_record(&user("9x", None)), Err(HomedError::InvalidName(_))));
    }

    #[test]
    fn record_has_hash_and_secret_only_in_the_call_copy() {
        let (public, full) = user_record(&user("alice", Some("pa\"ss\\xyzzy"))).unwrap();
        assert_eq!(public["userName"], "alice");
        assert_eq!(public["realName"], "Alice \"A\" Liddell");
        assert_eq!(public["disposition"], "regular");
        assert_eq!(public["storage"], "directory");
        assert_eq!(public["memberOf"], json!(["wheel"]));
        assert!(public.get("secret").is_none());
        let hash = public["privileged"]["hashedPassword"][0].as_str().unwrap();
        assert!(hash.starts_with('$'));
        assert!(!public.to_string().contains("xyzzy"));
        let full: Value = serde_json::from_slice(full.expose()).unwrap();
        assert_eq!(full["secret"]["password"], json!(["pa\"ss\\xyzzy"]));
        assert_eq!(full["privileged"], public["privileged"]);

        let (public, full) = user_record(&NewUser { admin: false, real_name: None, ..user("bob", None) }).unwrap();
        assert!(public.get("memberOf").is_none() && public.get("privileged").is_none());
        assert_eq!(serde_json::from_slice::<Value>(full.expose()).unwrap(), public);
    }

    #[test]
    fn homed_error_names_become_clear_errors() {
        let c = |n: &str| classify(n, "detail from homed", "alice");
        assert!(matches!(c("org.freedesktop.home1.UserNameExists"), HomedError::Exists(n) if n == "alice"));
        assert!(matches!(c("org.freedesktop.home1.HomeAlreadyExists"), HomedError::Exists(_)));
        let e = c("org.freedesktop.home1.LowPasswordQuality");
        assert!(matches!(&e, HomedError::PasswordRejected(d) if d == "detail from homed"));
        assert_eq!(e.to_string(), "the password was refused: detail from homed");
        assert!(matches!(c("org.freedesktop.home1.BadPassword"), HomedError::PasswordRejected(_)));
        assert!(matches!(c("System.Error.ENOSPC"), HomedError::NoSpace));
        assert!(matches!(c("org.freedesktop.home1.NoDiskSpace"), HomedError::NoSpace));
        assert!(matches!(c("org.freedesktop.DBus.Error.ServiceUnknown"), HomedError::NotRunning));
        assert_eq!(c("org.example.Other").to_string(), "systemd-homed: detail from homed");
        assert_eq!(classify("org.example.Other", "", "").to_string(), "systemd-homed: org.example.Other");
    }

    #[test]
    fn no_bus_means_not_running() {
        let e = create_home(Some("unix:path=/nonexistent/bus"), &user("alice", None)).unwrap_err();
        assert!(matches!(e, HomedError::NotRunning), "{e:?}");
        assert!(e.to_string().contains("/etc/passwd"));
        assert!(!homed_available(Some("unix:path=/nonexistent/bus")));
    }
}

#[cfg(test)]
mod credential_tests {
    use super::*;

    thread_local! {
        /// How often a parsed record was wiped on this thread.
        pub(super) static JSON_WIPES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// A record that is refused after it was parsed (not an object, another userName, an
    /// invalid name) is wiped all the same: the error comes back, and the parsed value, secret
    /// section included, went through its zeroizing wrapper on the way out.
    #[test]
    fn refused_records_are_wiped_too() {
        let dir = tempfile::tempdir().unwrap();
        let secret = r#""secret":{"password":["hunter2-xyzzy"]}"#;
        for (file, record, says) in [
            ("home.create.anna", format!(r#"[{{{secret}}}]"#), "not a JSON object"),
            ("home.create.anna", format!(r#"{{"userName":"bert",{secret}}}"#), "userName must be 'anna'"),
            ("home.create.9anna", format!(r#"{{{secret}}}"#), "9anna"),
        ] {
            std::fs::write(dir.path().join(file), record).unwrap();
            let before = JSON_WIPES.with(|w| w.get());
            let e = records_from_credentials(dir.path()).unwrap_err();
            assert!(e.to_string().contains(says), "{e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
            assert_eq!(JSON_WIPES.with(|w| w.get()), before + 1, "{file}: the refused record was not wiped");
            std::fs::remove_file(dir.path().join(file)).unwrap();
        }
        // And an accepted one, once its text is made.
        std::fs::write(dir.path().join("home.create.anna"), format!(r#"{{{secret}}}"#)).unwrap();
        let before = JSON_WIPES.with(|w| w.get());
        let recs = records_from_credentials(dir.path()).unwrap();
        assert_eq!(JSON_WIPES.with(|w| w.get()), before + 1);
        assert!(std::str::from_utf8(recs[0].1.expose()).unwrap().contains("hunter2-xyzzy"));
    }

    #[test]
    fn wiping_a_record_blanks_every_string_in_it() {
        use zeroize::Zeroize;
        let mut r = JsonRecord(serde_json::json!({"userName":"anna","secret":{"password":["a","b"]},"n":1}));
        r.zeroize();
        assert_eq!(r.0, serde_json::json!({"userName":"","secret":{"password":["",""]},"n":1}));
    }

    /// The JSON written exactly into a buffer of its size: no growth, same text as serde_json's.
    #[test]
    fn json_is_written_into_a_buffer_of_its_size() {
        for v in [serde_json::json!({"secret":{"password":["pa\"ss\u{1}ä"]}}), serde_json::json!("x".repeat(1000))] {
            let out = json_exact(&v).unwrap();
            assert_eq!(out.len(), out.capacity());
            assert_eq!(*out, serde_json::to_vec(&v).unwrap());
        }
    }

    #[test]
    fn credentials_fill_in_the_user_name_and_refuse_mismatches() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("home.create.anna"), r#"{"realName":"Anna"}"#).unwrap();
        std::fs::write(dir.path().join("firstboot.locale"), "de_DE.UTF-8").unwrap();
        let recs = records_from_credentials(dir.path()).unwrap();
        assert_eq!(recs.len(), 1);
        let v: serde_json::Value = serde_json::from_slice(recs[0].1.expose()).unwrap();
        assert_eq!((v["userName"].as_str(), v["disposition"].as_str()), (Some("anna"), Some("regular")));

        std::fs::write(dir.path().join("home.create.bert"), r#"{"userName":"carl"}"#).unwrap();
        let e = records_from_credentials(dir.path()).unwrap_err();
        assert!(e.to_string().contains("home.create.bert") && e.to_string().contains("carl"), "{e}");
        std::fs::write(dir.path().join("home.create.bert"), "not json").unwrap();
        let e = records_from_credentials(dir.path()).unwrap_err();
        assert!(e.to_string().contains("home.create.bert"), "{e}");
        assert!(records_from_credentials(&dir.path().join("missing")).unwrap().is_empty());
    }
}
