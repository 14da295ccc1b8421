//! The crate's layout as src/lib.rs promises it: imports only flow down the
//! list of rooms, so no room imports one above it (and there is no import
//! circle between rooms), every source file opens with its `//!` doc, and
//! none grows past a size a reader can hold (about 400 lines).

use std::path::{Path, PathBuf};

/// The rooms, top to bottom, as src/lib.rs lists them.
const ROOMS: &[&str] = &[
    "cmd",
    "http",
    "scrape",
    "config",
    "collectors",
    "db",
    "metrics",
    "logging",
    "text",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The room a file of src/ belongs to (`None` for lib.rs and main.rs).
fn room(src: &Path, file: &Path) -> Option<&'static str> {
    let first = file.strip_prefix(src).ok()?.components().next()?;
    let name = first.as_os_str().to_str()?.trim_end_matches(".rs");
    ROOMS.iter().copied().find(|r| *r == name)
}

/// The rooms a file's code (comments left out) names through `crate::`.
fn imported_rooms(text: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if let Some(room) = ROOMS.iter().copied().find(|r| *r == name) {
                found.push(room);
            }
        }
    }
    found
}

#[test]
fn imports_only_flow_down_the_list_of_rooms() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    for room in ROOMS {
        assert!(
            lib.contains(&format!("pub mod {room};")),
            "src/lib.rs lacks {room}"
        );
    }
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut upward = Vec::new();
    for file in &files {
        let Some(own) = room(&src, file) else {
            continue;
        };
        let rank = |r: &str| ROOMS.iter().position(|x| *x == r).unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        for imported in imported_rooms(&text) {
            if rank(imported) < rank(own) {
                upward.push(format!("{} imports {imported}", file.display()));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the order of src/lib.rs: {upward:#?}"
    );
    assert!(files.len() > 40, "only {} source files found", files.len());
}

#[test]
fn no_source_file_grows_past_about_400_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let long: Vec<_> = files
        .iter()
        .map(|f| (f, std::fs::read_to_string(f).unwrap().lines().count()))
        .filter(|(_, lines)| *lines > 420)
        .collect();
    assert!(long.is_empty(), "split these: {long:#?}");
}

#[test]
fn every_source_file_opens_with_its_doc() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let undocumented: Vec<_> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "no //! paragraph: {undocumented:#?}"
    );
}
