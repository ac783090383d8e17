//! `sysupdate.d/*.transfer` files, read as systemd-sysupdate reads them
//! (`src/sysupdate/sysupdate-transfer.c`, `transfer_read_definition()`), with one difference:
//! imprint refuses what systemd would only warn about and ignore (an unknown key, a bad value),
//! naming the file and line.

use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::pattern::Pattern;
use super::version;
use crate::profile::ini::{self, ConfigError, Entry};
use crate::profile::types::{self, PartType};

/// Where a resource lives and what it is (systemd's `ResourceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceType {
    UrlFile,
    UrlTar,
    Tar,
    RegularFile,
    Directory,
    Subvolume,
    Partition,
}

impl ResourceType {
    fn parse(s: &str) -> Option<ResourceType> {
        Some(match s {
            "url-file" => ResourceType::UrlFile,
            "url-tar" => ResourceType::UrlTar,
            "tar" => ResourceType::Tar,
            "regular-file" => ResourceType::RegularFile,
            "directory" => ResourceType::Directory,
            "subvolume" => ResourceType::Subvolume,
            "partition" => ResourceType::Partition,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ResourceType::UrlFile => "url-file",
            ResourceType::UrlTar => "url-tar",
            ResourceType::Tar => "tar",
            ResourceType::RegularFile => "regular-file",
            ResourceType::Directory => "directory",
            ResourceType::Subvolume => "subvolume",
            ResourceType::Partition => "partition",
        }
    }

    pub fn is_url(self) -> bool {
        matches!(self, ResourceType::UrlFile | ResourceType::UrlTar)
    }
}

/// `Path=`: a path or URL, or `auto` (the disk holding the running system).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourcePath {
    Auto,
    Path(String),
}

/// A `[Source]` or `[Target]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub kind: ResourceType,
    pub path: ResourcePath,
    pub patterns: Vec<Pattern>,
    /// `MatchPartitionType=` (targets only); None: any type.
    pub partition_type: Option<PartType>,
}

/// One transfer definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub file: PathBuf,
    /// The file name without `.transfer` (the transfer's id).
    pub id: String,
    pub min_version: Option<String>,
    pub protect_versions: Vec<String>,
    pub verify: bool,
    pub source: Resource,
    pub target: Resource,
    pub partition_uuid: Option<Uuid>,
    pub partition_flags: Option<u64>,
    pub no_auto: Option<bool>,
    pub growfs: Option<bool>,
    pub read_only: Option<bool>,
    pub mode: Option<u32>,
    pub tries_left: Option<u64>,
    pub tries_done: Option<u64>,
    /// None: unlimited (every slot, for partition targets).
    pub instances_max: Option<u64>,
    pub remove_temporary: bool,
    pub current_symlink: Option<String>,
}

/// Values the `%` specifiers expand to (from os-release and the machine).
#[derive(Debug, Clone, Default)]
pub struct Specifiers {
    /// `%A` IMAGE_VERSION, `%M` IMAGE_ID, `%w` VERSION_ID, `%B` BUILD_ID, `%W` VARIANT_ID,
    /// `%o` ID, `%m` machine ID, `%a` architecture.
    pub values: Vec<(char, String)>,
}

impl Specifiers {
    /// Reads `<root>/etc/os-release` (else `<root>/usr/lib/os-release`) and `<root>/etc/machine-id`.
    pub fn from_root(root: &Path) -> Specifiers {
        let os = crate::osrelease::OsRelease::read(root).unwrap_or_default();
        let mut values = vec![('a', crate::profile::types::native_arch().to_string())];
        for (c, key) in
            [('A', "IMAGE_VERSION"), ('M', "IMAGE_ID"), ('w', "VERSION_ID"), ('B', "BUILD_ID"), ('W', "VARIANT_ID"), ('o', "ID")]
        {
            if let Some(v) = os.get(key) {
                values.push((c, v.to_string()));
            }
        }
        if let Ok(id) = std::fs::read_to_string(root.join("etc/machine-id")) {
            values.push(('m', id.trim().to_string()));
        }
        Specifiers { values }
    }

    /// Expands `%X` specifiers; an unknown one, or one without a value, is an error.
    pub fn expand(&self, s: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => out.push('%'),
                Some(x) => match self.values.iter().find(|(k, _)| *k == x) {
                    Some((_, v)) => out.push_str(v),
                    None => return Err(format!("specifier '%{x}' is unknown or has no value on this system")),
                },
                None => return Err("trailing '%'".into()),
            }
        }
        Ok(out)
    }
}

/// The directories sysupdate reads definitions from, in priority order, under `root`.
pub fn default_dirs(root: &Path) -> Vec<PathBuf> {
    ["etc/sysupdate.d", "run/sysupdate.d", "usr/local/lib/sysupdate.d", "usr/lib/sysupdate.d"].iter().map(|d| root.join(d)).collect()
}

/// Every `*.transfer` file of `dirs`, a name in an earlier directory hiding the same name in
/// later ones (a symlink to /dev/null masks it), sorted by file name.
pub fn transfer_files(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, ConfigError> {
    let mut by_name: std::collections::BTreeMap<std::ffi::OsString, PathBuf> = Default::default();
    for dir in dirs {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ConfigError::new(dir, None, format!("cannot read directory: {e}"))),
        };
        for ent in rd {
            let ent = ent.map_err(|e| ConfigError::new(dir, None, format!("cannot read directory: {e}")))?;
            let path = ent.path();
            if path.extension().is_some_and(|e| e == "transfer") && !ent.file_name().to_string_lossy().starts_with('.') {
                by_name.entry(ent.file_name()).or_insert(path);
            }
        }
    }
    Ok(by_name.into_values().filter(|p| std::fs::canonicalize(p).map(|c| c != Path::new("/dev/null")).unwrap_or(true)).collect())
}

/// Reads every transfer of `dirs`; at least one must exist.
pub fn load_all(dirs: &[PathBuf], spec: &Specifiers) -> Result<Vec<Transfer>, ConfigError> {
    let files = transfer_files(dirs)?;
    if files.is_empty() {
        let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(ConfigError::new(Path::new(&shown.join(", ")), None, "no *.transfer definitions found"));
    }
    files.iter().map(|f| load(f, spec)).collect()
}

/// Reads one `.transfer` file.
pub fn load(path: &Path, spec: &Specifiers) -> Result<Transfer, ConfigError> {
    let text = ini::read_text(path)?;
    parse(path, &text, spec)
}

#[derive(Default)]
struct Raw {
    source_type: Option<ResourceType>,
    target_type: Option<ResourceType>,
    source_path: Option<ResourcePath>,
    target_path: Option<ResourcePath>,
    source_patterns: Vec<Pattern>,
    target_patterns: Vec<Pattern>,
    partition_type: Option<PartType>,
}

/// Parses the text of a `.transfer` file.
pub fn parse(path: &Path, text: &str, spec: &Specifiers) -> Result<Transfer, ConfigError> {
    let doc = ini::parse_str(path, text)?;
    let id = path.file_name().map(|n| n.to_string_lossy().trim_end_matches(".transfer").to_string()).unwrap_or_default();
    let mut t = Transfer {
        file: path.to_path_buf(),
        id,
        min_version: None,
        protect_versions: Vec::new(),
        verify: true,
        source: Resource { kind: ResourceType::UrlFile, path: ResourcePath::Auto, patterns: Vec::new(), partition_type: None },
        target: Resource { kind: ResourceType::Partition, path: ResourcePath::Auto, patterns: Vec::new(), partition_type: None },
        partition_uuid: None,
        partition_flags: None,
        no_auto: None,
        growfs: None,
        read_only: None,
        mode: None,
        tries_left: None,
        tries_done: None,
        instances_max: None,
        remove_temporary: true,
        current_symlink: None,
    };
    let mut raw = Raw::default();
    for section in &doc.sections {
        if !["Transfer", "Source", "Target"].contains(&section.name.as_str()) {
            return Err(section.error(format!("unknown section [{}]: a transfer has [Transfer], [Source] and [Target]", section.name)));
        }
        for e in &section.entries {
            assign(&mut t, &mut raw, &section.name, e, spec)?;
        }
    }
    finish(t, raw, path)
}

fn bool_of(e: &Entry) -> Result<bool, ConfigError> {
    ini::parse_bool(&e.value).ok_or_else(|| e.error(format!("{}= takes a boolean, not '{}'", e.key, e.value)))
}

fn u64_of(e: &Entry) -> Result<u64, ConfigError> {
    e.value.parse::<u64>().map_err(|_| e.error(format!("{}= takes a non-negative integer, not '{}'", e.key, e.value)))
}

fn expand(e: &Entry, spec: &Specifiers) -> Result<String, ConfigError> {
    spec.expand(&e.value).map_err(|m| e.error(format!("{}=: {m}", e.key)))
}

fn patterns_of(e: &Entry, spec: &Specifiers, list: &mut Vec<Pattern>) -> Result<(), ConfigError> {
    if e.value.is_empty() {
        list.clear();
        return Ok(());
    }
    for word in e.value.split_ascii_whitespace() {
        let word = spec.expand(word).map_err(|m| e.error(format!("MatchPattern=: {m}")))?;
        let p = Pattern::parse(&word).map_err(|m| e.error(format!("MatchPattern= '{word}' is not valid: {m}")))?;
        if !list.contains(&p) {
            list.push(p);
        }
    }
    Ok(())
}

fn path_of(e: &Entry, spec: &Specifiers) -> Result<ResourcePath, ConfigError> {
    if e.value == "auto" {
        return Ok(ResourcePath::Auto);
    }
    Ok(ResourcePath::Path(expand(e, spec)?))
}

fn assign(t: &mut Transfer, raw: &mut Raw, section: &str, e: &Entry, spec: &Specifiers) -> Result<(), ConfigError> {
    let ty = |e: &Entry| {
        ResourceType::parse(&e.value).ok_or_else(|| {
            e.error(format!("Type= '{}' is not one of url-file, url-tar, tar, regular-file, directory, subvolume, partition", e.value))
        })
    };
    match (section, e.key.as_str()) {
        ("Transfer", "MinVersion") => {
            let v = expand(e, spec)?;
            if !version::is_valid(&v) {
                return Err(e.error(format!("MinVersion= '{v}' is not a valid version")));
            }
            t.min_version = Some(v);
        }
        ("Transfer", "ProtectVersion") => {
            let v = expand(e, spec)?;
            if !version::is_valid(&v) {
                return Err(e.error(format!("ProtectVersion= '{v}' is not a valid version")));
            }
            t.protect_versions.push(v);
        }
        ("Transfer", "Verify") => t.verify = bool_of(e)?,
        ("Source", "Type") => raw.source_type = Some(ty(e)?),
        ("Source", "Path") => raw.source_path = Some(path_of(e, spec)?),
        ("Source", "MatchPattern") => patterns_of(e, spec, &mut raw.source_patterns)?,
        ("Target", "Type") => raw.target_type = Some(ty(e)?),
        ("Target", "Path") => raw.target_path = Some(path_of(e, spec)?),
        ("Target", "MatchPattern") => patterns_of(e, spec, &mut raw.target_patterns)?,
        ("Target", "MatchPartitionType") => {
            raw.partition_type = Some(
                types::parse_type(&e.value)
                    .ok_or_else(|| e.error(format!("MatchPartitionType= '{}' is not a known partition type", e.value)))?,
            )
        }
        ("Target", "PartitionUUID") => {
            t.partition_uuid = Some(Uuid::parse_str(&e.value).map_err(|_| e.error(format!("PartitionUUID= '{}' is not a UUID", e.value)))?)
        }
        ("Target", "PartitionFlags") => t.partition_flags = Some(u64_of(e)?),
        ("Target", "PartitionNoAuto") => t.no_auto = Some(bool_of(e)?),
        ("Target", "PartitionGrowFileSystem") => t.growfs = Some(bool_of(e)?),
        ("Target", "ReadOnly") => t.read_only = Some(bool_of(e)?),
        ("Target", "Mode") => {
            let m = u32::from_str_radix(&e.value, 8).ok().filter(|m| *m <= 0o7777);
            t.mode = Some(m.ok_or_else(|| e.error(format!("Mode= '{}' is not an octal file mode", e.value)))?);
        }
        ("Target", "TriesLeft") => t.tries_left = Some(u64_of(e)?),
        ("Target", "TriesDone") => t.tries_done = Some(u64_of(e)?),
        ("Target", "InstancesMax") => {
            // systemd: empty resets to the default, values below 2 are bumped to 2
            t.instances_max = if e.value.is_empty() { None } else { Some(u64_of(e)?.max(2)) };
        }
        ("Target", "RemoveTemporary") => t.remove_temporary = bool_of(e)?,
        ("Target", "CurrentSymlink") => t.current_symlink = Some(expand(e, spec)?),
        (s, k) => return Err(e.error(format!("unknown key '{k}' in [{s}]"))),
    }
    Ok(())
}

fn is_normalized_absolute(p: &str) -> bool {
    p.starts_with('/') && !p.split('/').skip(1).any(|c| c == "." || c == "..") && !p.contains("//") && (p == "/" || !p.ends_with('/'))
}

fn finish(mut t: Transfer, raw: Raw, path: &Path) -> Result<Transfer, ConfigError> {
    let err = |m: String| ConfigError::new(path, Some(1), m);
    let source_type = raw.source_type.ok_or_else(|| err("[Source] lacks Type=".into()))?;
    if source_type == ResourceType::Partition {
        return Err(err("Source Type= must be one of url-file, url-tar, tar, regular-file, directory, subvolume".into()));
    }
    let target_type = match raw.target_type {
        Some(t) => t,
        None => match source_type {
            ResourceType::UrlFile | ResourceType::RegularFile => match &raw.target_path {
                Some(ResourcePath::Path(p)) if p.starts_with("/dev/") => ResourceType::Partition,
                _ => ResourceType::RegularFile,
            },
            ResourceType::Subvolume => ResourceType::Subvolume,
            _ => ResourceType::Directory,
        },
    };
    if !matches!(target_type, ResourceType::Partition | ResourceType::RegularFile | ResourceType::Directory | ResourceType::Subvolume) {
        return Err(err("Target Type= must be one of partition, regular-file, directory, subvolume".into()));
    }
    let file_source = matches!(source_type, ResourceType::UrlFile | ResourceType::RegularFile);
    let file_target = matches!(target_type, ResourceType::Partition | ResourceType::RegularFile);
    if file_source != file_target {
        return Err(err(format!("Target type '{}' is incompatible with source type '{}'", target_type.name(), source_type.name())));
    }
    let source_path = raw.source_path.ok_or_else(|| err("[Source] lacks Path=".into()))?;
    match &source_path {
        ResourcePath::Path(p) if source_type.is_url() && !["http://", "https://", "file://"].iter().any(|s| p.starts_with(s)) => {
            return Err(err(format!("Source Path= is not a valid HTTP or HTTPS URL: {p}")));
        }
        ResourcePath::Path(p) if !source_type.is_url() && !is_normalized_absolute(p) => {
            return Err(err(format!("Source Path= is not a normalized, absolute path: {p}")));
        }
        _ => {}
    }
    if raw.source_patterns.is_empty() {
        return Err(err("[Source] lacks MatchPattern=".into()));
    }
    let target_path = raw.target_path.ok_or_else(|| err("[Target] lacks Path=".into()))?;
    if let ResourcePath::Path(p) = &target_path
        && !is_normalized_absolute(p)
    {
        return Err(err(format!("Target Path= is not a normalized, absolute path: {p}")));
    }
    if target_type != ResourceType::Partition && target_path == ResourcePath::Auto {
        return Err(err("Target Path=auto is only for partition targets".into()));
    }
    if let Some(l) = &t.current_symlink
        && target_type == ResourceType::Partition
        && !l.starts_with('/')
    {
        return Err(err(format!("CurrentSymlink= must be an absolute path when the target is a partition: {l}")));
    }
    let target_patterns = if raw.target_patterns.is_empty() { raw.source_patterns.clone() } else { raw.target_patterns };
    if target_type == ResourceType::Partition && raw.partition_type.is_none() {
        // sysupdate's default for partition targets: linux-generic
        t.target.partition_type = types::parse_type("linux-generic");
    } else {
        t.target.partition_type = raw.partition_type;
    }
    t.source = Resource { kind: source_type, path: source_path, patterns: raw.source_patterns, partition_type: None };
    t.target = Resource { kind: target_type, path: target_path, patterns: target_patterns, partition_type: t.target.partition_type.take() };
    if t.instances_max.is_none() && target_type != ResourceType::Partition {
        t.instances_max = Some(3);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const USR: &str = "[Transfer]\nProtectVersion=%A\nVerify=no\n\n[Source]\nType=url-file\nPath=https://example.com/os\nMatchPattern=usr_@v.raw\n\n[Target]\nType=partition\nPath=auto\nMatchPattern=usr_@v\nMatchPartitionType=usr\nReadOnly=1\nInstancesMax=2\n";

    fn spec() -> Specifiers {
        Specifiers { values: vec![('A', "1.0".into())] }
    }

    #[test]
    fn reads_a_partition_transfer() {
        let t = parse(Path::new("/x/50-usr.transfer"), USR, &spec()).unwrap();
        assert_eq!(t.id, "50-usr");
        assert_eq!(t.protect_versions, vec!["1.0".to_string()]);
        assert!(!t.verify);
        assert_eq!(t.source.kind, ResourceType::UrlFile);
        assert_eq!(t.target.kind, ResourceType::Partition);
        assert_eq!(t.target.path, ResourcePath::Auto);
        assert_eq!(t.target.patterns[0].as_str(), "usr_@v");
        assert_eq!(t.target.partition_type.as_ref().unwrap().designator, types::Designator::Usr);
        assert_eq!(t.read_only, Some(true));
        assert_eq!(t.instances_max, Some(2));
    }

    #[test]
    fn errors_name_file_and_line() {
        let bad = USR.replace("ReadOnly=1", "ReadOnly=maybe");
        let e = parse(Path::new("/x/a.transfer"), &bad, &spec()).unwrap_err();
        assert_eq!(e.line, Some(15), "{e}");
        assert!(e.to_string().starts_with("/x/a.transfer:15: ReadOnly= takes a boolean"), "{e}");
        let bad = USR.replace("Verify=no", "Verfy=no");
        let e = parse(Path::new("/x/a.transfer"), &bad, &spec()).unwrap_err();
        assert!(e.to_string().contains(":3: unknown key 'Verfy'"), "{e}");
        let bad = USR.replace("usr_@v.raw", "usr.raw");
        assert!(parse(Path::new("/x/a.transfer"), &bad, &spec()).unwrap_err().to_string().contains("'@v'"));
        let bad = USR.replace("Type=partition", "Type=directory");
        assert!(parse(Path::new("/x/a.transfer"), &bad, &spec()).unwrap_err().to_string().contains("incompatible"));
        let bad = USR.replace("%A", "%Q");
        assert!(parse(Path::new("/x/a.transfer"), &bad, &spec()).unwrap_err().to_string().contains("%Q"));
    }

    #[test]
    fn defaults_follow_sysupdate() {
        let t = parse(
            Path::new("/x/a.transfer"),
            "[Source]\nType=regular-file\nPath=/srv\nMatchPattern=a_@v\n[Target]\nPath=/var/lib/a\n",
            &spec(),
        )
        .unwrap();
        assert_eq!(t.target.kind, ResourceType::RegularFile);
        assert_eq!(t.instances_max, Some(3));
        assert!(t.verify);
        assert_eq!(t.target.patterns[0].as_str(), "a_@v");
    }
}
