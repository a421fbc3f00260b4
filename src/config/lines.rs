//! Where each key of a configuration file is: the line of every object key with its path from
//! the root, so a finding can point at the line that shows its value (a SARIF region), and a
//! file holding several trails at the lines of the right one.

/// One object key of a JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAt {
    /// Keys and array indexes from the root down to this key, the key last.
    pub path: Vec<String>,
    /// 1-based line of the key.
    pub line: u32,
    /// Its value, when that is a string (a trail's object is found by its `TrailARN`).
    pub text: Option<String>,
}

/// Keys indexed in one file at most: configuration files are small; a larger one is indexed as
/// far as this and its later keys get no line.
const MAX_KEYS: usize = 100_000;

enum Frame {
    /// An object and its current key.
    Object(Option<String>),
    /// An array and the index of its current element.
    Array(usize),
}

/// Every object key of `bytes` (JSON that parsed) with its path and line. Text that is not JSON
/// gives what could be read before it stopped making sense.
pub fn index(bytes: &[u8]) -> Vec<KeyAt> {
    let mut keys: Vec<KeyAt> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut line = 1u32;
    // In an object, after `{` or `,`: the next string is a key.
    let mut want_key = false;
    // After a key's `:`: a string next is its value.
    let mut want_value = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => line += 1,
            b'{' => {
                stack.push(Frame::Object(None));
                want_key = true;
                want_value = false;
            }
            b'[' => {
                stack.push(Frame::Array(0));
                want_value = false;
            }
            b'}' | b']' => {
                stack.pop();
                want_key = false;
                want_value = false;
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(n)) => *n += 1,
                Some(Frame::Object(_)) => want_key = true,
                None => {}
            },
            b':' => want_value = true,
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let Some(raw) = bytes.get(start..=i) else {
                    break;
                };
                let text: String = serde_json::from_slice(raw).unwrap_or_default();
                if want_key {
                    want_key = false;
                    if keys.len() == MAX_KEYS {
                        break;
                    }
                    let mut path: Vec<String> = stack
                        .iter()
                        .take(stack.len().saturating_sub(1))
                        .map(|f| match f {
                            Frame::Object(k) => k.clone().unwrap_or_default(),
                            Frame::Array(n) => n.to_string(),
                        })
                        .collect();
                    path.push(text.clone());
                    keys.push(KeyAt {
                        path,
                        line,
                        text: None,
                    });
                    if let Some(Frame::Object(k)) = stack.last_mut() {
                        *k = Some(text);
                    }
                } else if want_value {
                    want_value = false;
                    if let Some(k) = keys.last_mut() {
                        k.text = Some(text);
                    }
                }
            }
            b' ' | b'\t' | b'\r' => {}
            // A number, true, false or null.
            _ => want_value = false,
        }
        i += 1;
    }
    keys
}

/// The line in `keys` (one file's) that shows `field` (the last key of a Posture path, such as
/// `IsLogging`) of the trail `arn`: within the object whose `TrailARN` (or `Name`) is the trail's
/// when the file names it, else anywhere in the file; when the field is not there, the line
/// that names the trail.
pub fn line_of(keys: &[KeyAt], arn: &str, name: &str, field: &str) -> Option<u32> {
    let anchors = [("TrailARN", arn), ("Name", name)];
    line_within(keys, &anchors, field)
}

/// The line that shows `field` within the object named by the first of `anchors` (a key and
/// its string value, such as `VpcId` and `vpc-0a1b`) found in the file, else anywhere in it;
/// when the field is not there, the line where that object starts.
pub fn line_within(keys: &[KeyAt], anchors: &[(&str, &str)], field: &str) -> Option<u32> {
    let anchor = keys
        .iter()
        .find(|k| {
            let key = k.path.last().map(String::as_str);
            anchors.iter().any(|(name, value)| {
                key == Some(*name) && !value.is_empty() && k.text.as_deref() == Some(*value)
            })
        })
        .map(|k| &k.path[..k.path.len() - 1]);
    let within =
        |k: &&KeyAt| anchor.is_none_or(|a| k.path.len() > a.len() && k.path.starts_with(a));
    keys.iter()
        .filter(within)
        .find(|k| k.path.last().is_some_and(|key| key == field))
        .map(|k| k.line)
        .or_else(|| {
            let a = anchor?;
            keys.iter()
                .find(|k| k.path.len() == a.len() + 1 && k.path.starts_with(a))
                .map(|k| k.line)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAILS: &str = r#"{
    "trailList": [
        {
            "Name": "a",
            "TrailARN": "arn:aws:cloudtrail:us-east-1:1:trail/a",
            "LogFileValidationEnabled": true
        },
        {
            "Name": "b\"q",
            "LogFileValidationEnabled": false,
            "TrailARN": "arn:aws:cloudtrail:us-east-1:1:trail/b",
            "Tags": [{"Key": "x", "Value": "y"}]
        }
    ]
}"#;

    #[test]
    fn keys_have_their_paths_lines_and_string_values() {
        let keys = index(TRAILS.as_bytes());
        let find = |path: &[&str]| keys.iter().find(|k| k.path == path).unwrap();
        assert_eq!(find(&["trailList"]).line, 2);
        let b = find(&["trailList", "1", "Name"]);
        assert_eq!((b.line, b.text.as_deref()), (9, Some("b\"q")));
        assert_eq!(
            find(&["trailList", "1", "LogFileValidationEnabled"]).text,
            None
        );
        assert_eq!(find(&["trailList", "1", "Tags", "0", "Value"]).line, 12);
    }

    #[test]
    fn a_field_is_found_in_its_own_trails_object() {
        let keys = index(TRAILS.as_bytes());
        let b = "arn:aws:cloudtrail:us-east-1:1:trail/b";
        assert_eq!(line_of(&keys, b, "", "LogFileValidationEnabled"), Some(10));
        let a = "arn:aws:cloudtrail:us-east-1:1:trail/a";
        assert_eq!(line_of(&keys, a, "a", "LogFileValidationEnabled"), Some(6));
        // Not in the trail's object: the line where that object starts.
        assert_eq!(line_of(&keys, a, "a", "KmsKeyId"), Some(4));
        // A file that does not name the trail: the field anywhere.
        let status = index(b"{\n  \"IsLogging\": false\n}");
        assert_eq!(line_of(&status, a, "a", "IsLogging"), Some(2));
        assert_eq!(line_of(&status, a, "a", "Missing"), None);
        // Not JSON: no panic, what could be read.
        assert_eq!(index(b"{\"a\": \"unterminated").len(), 1);
    }
}
