//! root's entries in the target's /etc/passwd and /etc/shadow: the root line is edited in place,
//! every other line is kept byte for byte. Pure text functions here; the I/O (lock, atomic
//! replace) is in the parent module.

/// Upstream's `should_configure` for the root account: root counts as configured when passwd
/// has a root entry with a password other than `x`, or shadow has any root entry other than
/// `!unprovisioned`.
pub fn root_configured(passwd: Option<&str>, shadow: Option<&str>) -> bool {
    let Some(passwd) = passwd else { return false };
    let Some(line) = find(passwd, "root") else { return false };
    if line.split(':').nth(1) != Some("x") {
        return true;
    }
    let Some(shadow) = shadow else { return false };
    match find(shadow, "root") {
        Some(l) => l.split(':').nth(1) != Some("!unprovisioned"),
        None => false,
    }
}

fn find<'a>(text: &'a str, user: &str) -> Option<&'a str> {
    text.lines().find(|l| l.split(':').next() == Some(user))
}

/// Replaces field `i` of the root line via `edit`; appends `new_line` when there is no root line.
fn edit_root(text: &str, new_line: impl FnOnce() -> String, edit: impl FnOnce(&mut Vec<String>)) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut edit = Some(edit);
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        if body.split(':').next() == Some("root")
            && let Some(f) = edit.take()
        {
            let mut fields: Vec<String> = body.split(':').map(str::to_string).collect();
            f(&mut fields);
            out.push_str(&fields.join(":"));
            out.push('\n');
        } else {
            out.push_str(line);
        }
    }
    if edit.is_some() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&new_line());
        out.push('\n');
    }
    out
}

/// passwd with root's password field set to `x` and, if given, its shell replaced. A new root
/// line is `root:x:0:0:Super User:/root:<shell>`.
pub fn edit_passwd(text: &str, shell: Option<&str>, default_shell: &str) -> String {
    edit_root(
        text,
        || format!("root:x:0:0:Super User:/root:{}", shell.unwrap_or(default_shell)),
        |f| {
            f.resize(f.len().max(7), String::new());
            f[1] = "x".into();
            if let Some(s) = shell {
                f[6] = s.into();
            }
        },
    )
}

/// shadow with root's hash and last-change day replaced, its ageing fields kept. A new root line is
/// `root:<hash>:<days>::::::`.
pub fn edit_shadow(text: &str, hash: &str, days: u64) -> String {
    edit_root(
        text,
        || format!("root:{hash}:{days}::::::"),
        |f| {
            f.resize(f.len().max(9), String::new());
            f[1] = hash.into();
            f[2] = days.to_string();
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_root_line_changes() {
        let p = "# c\nbin:x:2:2::/:/bin/false\nroot:x:0:0:root:/root:/bin/bash\nu:x:1:1::/h:/bin/sh";
        assert_eq!(
            edit_passwd(p, Some("/bin/zsh"), "/bin/sh"),
            "# c\nbin:x:2:2::/:/bin/false\nroot:x:0:0:root:/root:/bin/zsh\nu:x:1:1::/h:/bin/sh"
        );
        assert_eq!(edit_passwd("u:x:1:1::/h:/bin/sh", None, "/bin/sh"), "u:x:1:1::/h:/bin/sh\nroot:x:0:0:Super User:/root:/bin/sh\n");
        assert_eq!(
            edit_shadow("root:*:19000:0:99999:7:::\nu:!:1::::::\n", "$6$a$b", 20000),
            "root:$6$a$b:20000:0:99999:7:::\nu:!:1::::::\n"
        );
        assert_eq!(edit_shadow("", "$6$a$b", 20000), "root:$6$a$b:20000::::::\n");
    }

    #[test]
    fn configured_like_upstream() {
        assert!(!root_configured(None, None));
        assert!(!root_configured(Some("root:x:0:0::/root:/bin/sh\n"), None));
        assert!(root_configured(Some("root:x:0:0::/root:/bin/sh\n"), Some("root:*:1::::::\n")));
        assert!(!root_configured(Some("root:x:0:0::/root:/bin/sh\n"), Some("root:!unprovisioned:1::::::\n")));
        assert!(root_configured(Some("root:abc:0:0::/root:/bin/sh\n"), None));
    }
}
