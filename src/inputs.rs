//! Evidence paths given without saying what they hold (`audit PATH...`): each file is
//! classified by its content as event history, configuration evidence, or neither, and each
//! directory whose files are all of one kind is kept whole, so the report names the
//! directories a user gave rather than every file under them.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest file read whole to see whether it is configuration evidence: the aws CLI outputs
/// the collector keeps are small; larger files are event history (an export).
const CONFIG_MAX: u64 = 16 << 20;

/// The paths, by what they hold.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Classified {
    pub logs: Vec<PathBuf>,
    pub config: Vec<PathBuf>,
    /// Files that are neither, with why: listed in the report, never read as evidence.
    pub ignored: Vec<(PathBuf, String)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Class {
    Logs,
    Config,
    Neither(String),
    /// Hidden files: the readers list them as skipped; they do not decide a directory's kind.
    Hidden,
}

/// Classifies every path (files and directories, recursively).
pub fn classify(paths: &[PathBuf]) -> Classified {
    let mut out = Classified::default();
    for path in paths {
        for (p, class) in walk(path, true) {
            match class {
                Class::Logs => out.logs.push(p),
                Class::Config => out.config.push(p),
                Class::Neither(why) => out.ignored.push((p, why)),
                Class::Hidden => {}
            }
        }
    }
    out
}

/// `path` as the fewest entries: itself when every file under it is of one kind, else its
/// children's entries. A path the user gave (`given`) is never hidden.
fn walk(path: &Path, given: bool) -> Vec<(PathBuf, Class)> {
    let hidden = !given
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
    if !path.is_dir() {
        let class = if hidden {
            Class::Hidden
        } else {
            class_of(path)
        };
        return vec![(path.to_path_buf(), class)];
    }
    if hidden {
        return vec![(path.to_path_buf(), Class::Hidden)];
    }
    // The collector keeps event history beside the configuration under these names.
    if crate::config::is_event_history(path) {
        return vec![(path.to_path_buf(), Class::Logs)];
    }
    let mut children: Vec<PathBuf> = match std::fs::read_dir(path) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        // Unreadable: the event-history reader reports it with its reason.
        Err(_) => return vec![(path.to_path_buf(), Class::Logs)],
    };
    children.sort();
    let entries: Vec<(PathBuf, Class)> = children.iter().flat_map(|c| walk(c, false)).collect();
    let kinds: Vec<&Class> = entries
        .iter()
        .map(|(_, c)| c)
        .filter(|c| **c != Class::Hidden)
        .collect();
    match kinds.first() {
        Some(first)
            if matches!(first, Class::Logs | Class::Config) && kinds.iter().all(|k| k == first) =>
        {
            vec![(path.to_path_buf(), (*first).clone())]
        }
        _ => entries,
    }
}

/// A file's kind by its content: gzip and large files are event history; a JSON file is
/// configuration evidence when the configuration reader recognises it, else event history
/// (whose reader says what is wrong with it); anything else is neither.
fn class_of(path: &Path) -> Class {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Class::Logs;
    };
    let size = file.metadata().map_or(0, |m| m.len());
    let mut head = [0u8; 2];
    let n = file.read(&mut head).unwrap_or(0);
    if head[..n] == [0x1f, 0x8b] || size > CONFIG_MAX {
        return Class::Logs;
    }
    let mut bytes = head[..n].to_vec();
    if file.read_to_end(&mut bytes).is_err() {
        return Class::Logs;
    }
    // Archives, UTF-16 text, and the text shapes of event history that are not JSON (a
    // CloudWatch Logs export, a CSV export whose reading says what to export instead).
    if crate::events::archive::sniff_bytes(&bytes).is_some()
        || crate::events::shape::is_history_text(&bytes)
    {
        return Class::Logs;
    }
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => {}
        _ => return Class::Neither("neither JSON nor gzip: not evidence".into()),
    }
    if crate::config::recognises(path, &bytes) {
        Class::Config
    } else {
        Class::Logs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_samples_split_into_their_two_directories() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let c = classify(std::slice::from_ref(&root));
        assert_eq!(c.logs, [root.join("logs")]);
        assert_eq!(c.config, [root.join("config")]);
        assert_eq!(c.ignored.len(), 1, "{:?}", c.ignored);
        assert_eq!(c.ignored[0].0, root.join("README.md"));
    }

    #[test]
    fn archives_utf16_and_text_exports_are_event_history() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("AWSLogs/x.json", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, b"{}").unwrap();
        std::fs::write(d.join("a.zip"), zip.finish().unwrap().into_inner()).unwrap();
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend("{\"Records\":[]}".encode_utf16().flat_map(u16::to_le_bytes));
        std::fs::write(d.join("b.json"), utf16).unwrap();
        std::fs::write(
            d.join("000000"),
            "2024-07-31T12:00:00.000Z {\"eventTime\":1}\n",
        )
        .unwrap();
        std::fs::write(
            d.join("c.csv"),
            "\"eventversion\",\"eventtime\",\"eventname\"\n",
        )
        .unwrap();
        std::fs::write(d.join("notes.csv"), "a,b\n1,2\n").unwrap();
        let c = classify(&[d.to_path_buf()]);
        let mut logs = c.logs.clone();
        logs.sort();
        assert_eq!(
            logs,
            ["000000", "a.zip", "b.json", "c.csv"].map(|n| d.join(n)),
            "{c:?}"
        );
        assert_eq!(c.ignored.len(), 1, "{c:?}");
    }

    #[test]
    fn a_mixed_directory_is_classified_per_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/config");
        std::fs::copy(
            samples.join("345678901234/us-east-1/cloudtrail/describe-trails.json"),
            d.join("describe-trails.json"),
        )
        .unwrap();
        std::fs::write(
            d.join("events.json"),
            r#"{"Records":[{"eventTime":"2026-07-01T00:00:00Z","eventName":"X"}]}"#,
        )
        .unwrap();
        std::fs::write(d.join("notes.txt"), "hello").unwrap();
        std::fs::write(d.join(".hidden.json"), "{}").unwrap();
        let c = classify(&[d.to_path_buf()]);
        assert_eq!(c.config, [d.join("describe-trails.json")]);
        assert_eq!(c.logs, [d.join("events.json")]);
        assert_eq!(
            c.ignored,
            [(
                d.join("notes.txt"),
                "neither JSON nor gzip: not evidence".to_string()
            )]
        );
    }
}
