//! The `broker_local_roots` check (`LocalRoots::confine` and the confined opens) over a
//! real tree: a root holding symlinks that lead out of it (relative, absolute, through
//! `..`, a loop), beside a directory outside it and a sibling sharing its name's prefix.
//! Each input is a path, tried as given and below the root. Checks: no panic; a path
//! placed beneath the root has only plain components below it; and whatever the string,
//! every file or directory the confined open yields is one of the root's own, by device
//! and inode and by the name the kernel gives the open descriptor.
#![no_main]

use std::collections::HashSet;
use std::os::unix::fs::{symlink, MetadataExt};
use std::os::unix::io::AsRawFd;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use apache_hdfs_broker::storage::local::LocalRoots;
use apache_hdfs_broker::storage::Location;
use libfuzzer_sys::fuzz_target;

struct Tree {
    root: PathBuf,
    /// The root as the kernel names it (the temporary directory may be a symlink).
    canonical: PathBuf,
    roots: LocalRoots,
    /// (device, inode) of every file and directory beneath the root, links not followed.
    inside: HashSet<(u64, u64)>,
}

/// The tree, made once per process in a fresh folder (removed at the next start: a
/// libFuzzer process ends with exit(), which runs no destructor).
fn tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let tmp = std::env::temp_dir();
        let prefix = "broker-fuzz-roots-";
        if let Ok(entries) = std::fs::read_dir(&tmp) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some(pid) = name.strip_prefix(prefix) else {
                    continue;
                };
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let base = tmp.join(format!("{prefix}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        for dir in ["outside/dir", "rootx", "root/sub/deeper"] {
            std::fs::create_dir_all(base.join(dir)).unwrap();
        }
        for file in [
            "outside/secret",
            "outside/dir/secret",
            "rootx/secret",
            "root/a",
            "root/sub/b",
            "root/sub/deeper/c",
        ] {
            std::fs::write(base.join(file), file).unwrap();
        }
        let links: [(&str, PathBuf); 11] = [
            ("root/out", "../outside".into()),
            ("root/abs", "/".into()),
            ("root/abs_out", base.join("outside")),
            ("root/abs_in", root.join("a")),
            ("root/up", "..".into()),
            ("root/sub/upup", "../..".into()),
            ("root/sub/back", "../a".into()),
            ("root/sub/deeper/out", "../../../outside/secret".into()),
            ("root/in", "sub".into()),
            ("root/loop", "loop".into()),
            ("root/sib", "../rootx".into()),
        ];
        for (link, target) in links {
            symlink(target, base.join(link)).unwrap();
        }
        let mut inside = HashSet::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let meta = std::fs::symlink_metadata(&dir).unwrap();
            inside.insert((meta.dev(), meta.ino()));
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let meta = entry.metadata().unwrap();
                if meta.is_dir() {
                    stack.push(entry.path());
                } else if meta.is_file() {
                    inside.insert((meta.dev(), meta.ino()));
                }
            }
        }
        let roots = LocalRoots::new(vec![root.clone()]);
        Tree {
            canonical: std::fs::canonicalize(&root).unwrap(),
            root,
            roots,
            inside,
        }
    })
}

/// The descriptor is one of the root's own files or directories.
fn assert_beneath(tree: &Tree, fd: &impl AsRawFd, meta: std::fs::Metadata, uri: &str) {
    assert!(
        tree.inside.contains(&(meta.dev(), meta.ino())),
        "{uri:?} opened something outside the root"
    );
    let name = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
    assert!(
        name.starts_with(&tree.canonical),
        "{uri:?} opened {}",
        name.display()
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let tree = tree();
    let root = tree.root.display();
    for uri in [format!("file:{path}"), format!("file:{root}/{path}")] {
        let Ok(loc) = Location::parse(&uri) else {
            continue;
        };
        if let Some((_, rel)) = tree.roots.locate(loc.path()) {
            assert!(
                rel.components().all(|c| matches!(c, Component::Normal(_))),
                "{uri:?} placed as {}",
                rel.display()
            );
        }
        let Ok(confined) = tree.roots.confine(&loc) else {
            continue;
        };
        if let Ok(file) = confined.open_file() {
            let meta = file.metadata().unwrap();
            assert_beneath(tree, &file, meta, &uri);
        }
        if let Ok(dir) = confined.open_dir() {
            let file = dir.into_std_file();
            let meta = file.metadata().unwrap();
            assert_beneath(tree, &file, meta, &uri);
        }
    }
});
