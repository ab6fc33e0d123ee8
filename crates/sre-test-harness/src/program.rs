//! Finding the programs a test needs, or failing with the package that provides them.
//!
//! A test that needs Prometheus and finds none fails: a skipped test looks green and proves
//! nothing. The failure names the Debian package, and `cargo xtask test` installs them all.

use std::cmp::Reverse;
use std::env;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Directories searched after `PATH`: root's programs are often missing from a user's `PATH`.
pub const SYSTEM_DIRS: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin"];

/// Finds `name` on `PATH` or in [`SYSTEM_DIRS`].
///
/// # Panics
///
/// If the program is not found, with a message naming `package`, the Debian package to install.
#[track_caller]
pub fn require_program(name: &str, package: &str) -> PathBuf {
    require_program_in(name, package, &[])
}

/// Like [`require_program`], also searching `extra_dirs` (after `PATH` and [`SYSTEM_DIRS`]).
///
/// A component of an extra directory may hold one `*`, as in `/usr/lib/postgresql/*/bin`;
/// when several directories match, the highest version is searched first.
///
/// # Panics
///
/// If the program is not found, with a message naming `package`.
#[track_caller]
pub fn require_program_in(name: &str, package: &str, extra_dirs: &[&str]) -> PathBuf {
    find_program(name, extra_dirs).unwrap_or_else(|| {
        let mut searched = vec!["PATH".to_owned()];
        searched.extend(SYSTEM_DIRS.iter().chain(extra_dirs).map(|d| d.to_string()));
        panic!(
            "`{name}` not found: install it with \
             `apt-get install -y --no-install-recommends {package}` \
             (or run `cargo xtask test`, which installs test dependencies); searched {}",
            searched.join(", ")
        )
    })
}

/// Finds `name` like [`require_program_in`], returning `None` when it is missing.
pub fn find_program(name: &str, extra_dirs: &[&str]) -> Option<PathBuf> {
    if name.contains('/') {
        let path = PathBuf::from(name);
        return is_executable(&path).then_some(path);
    }
    let path_dirs = env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let other_dirs = SYSTEM_DIRS
        .iter()
        .chain(extra_dirs)
        .flat_map(|pattern| expand(pattern));
    path_dirs
        .into_iter()
        .chain(other_dirs)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Expands a directory pattern whose components may hold one `*` each, highest version first.
fn expand(pattern: &str) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for component in Path::new(pattern).components() {
        let component = component.as_os_str().to_string_lossy();
        let Some((prefix, suffix)) = component.split_once('*') else {
            found.iter_mut().for_each(|dir| dir.push(&*component));
            continue;
        };
        let mut next = Vec::new();
        for dir in &found {
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| {
                    n.len() >= prefix.len() + suffix.len()
                        && n.starts_with(prefix)
                        && n.ends_with(suffix)
                })
                .collect();
            names.sort_by_key(|n| Reverse(version_key(n)));
            next.extend(names.into_iter().map(|n| dir.join(n)));
        }
        found = next;
    }
    found
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Chunk {
    Number(u64),
    Text(String),
}

/// Splits a name into numbers and text so that "15" sorts above "9".
fn version_key(name: &str) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut rest = name;
    while let Some(first) = rest.chars().next() {
        let digits = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let (head, tail) = rest.split_at(end);
        chunks.push(match head.parse() {
            Ok(n) if digits => Chunk::Number(n),
            _ => Chunk::Text(head.to_owned()),
        });
        rest = tail;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_numerically() {
        let mut names = vec!["9", "15", "13", "10.2", "10.10"];
        names.sort_by_key(|n| Reverse(version_key(n)));
        assert_eq!(names, ["15", "13", "10.10", "10.2", "9"]);
    }

    #[test]
    fn expand_matches_one_star_per_component() {
        let dir = tempfile::tempdir().expect("temp dir");
        for v in ["9", "15", "x"] {
            fs::create_dir_all(dir.path().join("pg").join(v).join("bin")).expect("mkdir");
        }
        let pattern = format!("{}/pg/*/bin", dir.path().display());
        let got = expand(&pattern);
        let want: Vec<PathBuf> = ["x", "15", "9"]
            .iter()
            .map(|v| dir.path().join("pg").join(v).join("bin"))
            .collect();
        assert_eq!(got, want);
    }
}
