//! Files hybridtop writes hold who changed what, user ids and span text: they are created 0600,
//! in directories created 0700. An existing file or directory keeps its mode — the operator
//! may have chosen it.
use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

pub const FILE_MODE: u32 = 0o600;
pub const DIR_MODE: u32 = 0o700;

/// Create `dir` and any missing parents, each new one 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

fn parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) => create_dir(dir),
        None => Ok(()),
    }
}

/// Open for appending, creating it (0600) and its directory (0700) if needed.
pub fn append(path: &Path) -> io::Result<File> {
    parent(path)?;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Create or truncate for writing (a new file is 0600).
pub fn create(path: &Path) -> io::Result<File> {
    parent(path)?;
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Create a file that must not exist yet (0600).
pub fn create_new(path: &Path) -> io::Result<File> {
    parent(path)?;
    OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(FILE_MODE)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_are_0600_in_0700_directories_and_existing_ones_keep_their_mode() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("a/b/audit.jsonl");
        append(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(mode(&t.path().join("a")), 0o700);
        assert_eq!(mode(&t.path().join("a/b")), 0o700);
        let g = t.path().join("a/rec.jsonl");
        create(&g).unwrap();
        assert_eq!(mode(&g), 0o600);
        let h = t.path().join("config.toml");
        create_new(&h).unwrap();
        assert_eq!(mode(&h), 0o600);
        assert!(create_new(&h).is_err());
        // An existing file keeps the mode the operator gave it.
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        append(&f).unwrap();
        create(&g).unwrap();
        assert_eq!(mode(&f), 0o640);
    }
}
