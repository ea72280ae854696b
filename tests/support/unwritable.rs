//! A directory and a database file made unwritable for real, for tests of
//! read-only inspection ([`Unwritable`]).
#![allow(unreachable_pub, dead_code)]

/// Makes a directory and a database file unwritable for real: permission
/// bits, and, when they do not bind (the tests run as root), the
/// immutable attribute (`chattr +i`). Undone on drop.
pub struct Unwritable {
    dir: std::path::PathBuf,
    file: std::path::PathBuf,
    immutable: bool,
    /// Whether the directory and file really are unwritable.
    pub effective: bool,
}

impl Unwritable {
    pub fn new(dir: &std::path::Path, file: &std::path::Path) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o444)).expect("chmod");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        let mut guard = Self {
            dir: dir.to_owned(),
            file: file.to_owned(),
            immutable: false,
            effective: false,
        };
        if guard.writable() {
            guard.immutable = std::process::Command::new("chattr")
                .arg("+i")
                .arg(file)
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
        }
        guard.effective = !guard.writable();
        guard
    }

    fn writable(&self) -> bool {
        let probe = self.dir.join("probe");
        let created = std::fs::File::create(&probe).is_ok();
        if created {
            let _ = std::fs::remove_file(&probe);
        }
        created
            || std::fs::OpenOptions::new()
                .append(true)
                .open(&self.file)
                .is_ok()
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt as _;
        if self.immutable {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.file)
                .arg(&self.dir)
                .status();
        }
        let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755));
        let _ = std::fs::set_permissions(&self.file, std::fs::Permissions::from_mode(0o644));
    }
}
