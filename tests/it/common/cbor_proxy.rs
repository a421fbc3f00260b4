//! moto implements CloudWatch's Query and JSON protocols, not the Smithy RPC v2 CBOR protocol
//! that the current aws-sdk-cloudwatch speaks (moto issue 9195: no support planned). This
//! loopback proxy sits between `collect` and moto: a CloudWatch CBOR request is turned into
//! the same operation in the JSON protocol, signed again with the caller's credentials (so
//! moto's IAM enforcement judges the real caller), and the answer turned back into CBOR;
//! every other request passes through byte for byte. moto still does all the work.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use ciborium::Value as Cbor;
use serde_json::Value as Json;

const PREFIX: &str = "/service/GraniteServiceVersion20100801/operation/";

/// Access key id -> secret, for signing the translated requests again.
pub type Secrets = Arc<Mutex<HashMap<String, String>>>;

pub struct CborProxy {
    pub endpoint: String,
    pub secrets: Secrets,
    /// Requests signed for these regions get no answer: the connection is closed, as when a
    /// region's endpoint is unreachable.
    pub unreachable: Arc<Mutex<Vec<String>>>,
}

impl CborProxy {
    pub fn start(upstream: &str) -> CborProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let secrets: Secrets = Arc::default();
        let unreachable: Arc<Mutex<Vec<String>>> = Arc::default();
        let (s, u) = (secrets.clone(), unreachable.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (upstream, secrets, unreachable) = (upstream.clone(), s.clone(), u.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &upstream, &secrets, &unreachable);
                });
            }
        });
        CborProxy {
            endpoint,
            secrets,
            unreachable,
        }
    }

    pub fn allow(&self, key: &str, secret: &str) {
        self.secrets
            .lock()
            .unwrap()
            .insert(key.to_string(), secret.to_string());
    }
}

struct Request {
    head: Vec<u8>,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_request(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&line);
        if line == b"\r\n" {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let path = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(Some(Request {
        head,
        method,
        path,
        headers,
        body,
    }))
}

/// One request per connection: moto closes after each answer, and so does the proxy.
fn serve(
    conn: TcpStream,
    upstream: &str,
    secrets: &Secrets,
    unreachable: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let Some(req) = read_request(&mut reader)? else {
        return Ok(());
    };
    let region = req
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .and_then(|(_, v)| between(v, "Credential=", ","))
        .and_then(|scope| scope.split('/').nth(2))
        .unwrap_or_default()
        .to_string();
    if unreachable.lock().unwrap().contains(&region) {
        return conn.shutdown(std::net::Shutdown::Both);
    }
    let mut out = conn;
    match req.path.strip_prefix(PREFIX) {
        Some(op) => {
            let answer = translate(&req, op, upstream, secrets);
            out.write_all(&answer)?;
        }
        None => {
            let mut up = TcpStream::connect(upstream)?;
            up.write_all(&req.head)?;
            up.write_all(&req.body)?;
            let answer = read_answer(&mut up)?;
            out.write_all(&answer)?;
        }
    }
    out.flush()
}

/// moto's whole answer. Its server closes the connection after answering, and may reset it
/// rather than close it cleanly; an answer read before the reset is still the answer. Passing
/// the reset on would make the SDK retry a request moto has already carried out (a second
/// CreateLogGroup answered "already exists").
fn read_answer(up: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut answer = Vec::new();
    match up.read_to_end(&mut answer) {
        Err(e) if answer.is_empty() => Err(e),
        _ => Ok(answer),
    }
}

fn cbor_to_json(v: Cbor) -> Json {
    match v {
        Cbor::Map(m) => Json::Object(
            m.into_iter()
                .filter_map(|(k, v)| Some((k.into_text().ok()?, cbor_to_json(v))))
                .collect(),
        ),
        Cbor::Array(a) => Json::Array(a.into_iter().map(cbor_to_json).collect()),
        Cbor::Text(s) => Json::String(s),
        Cbor::Integer(i) => Json::from(i128::from(i) as i64),
        Cbor::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        Cbor::Bool(b) => Json::Bool(b),
        Cbor::Tag(_, v) => cbor_to_json(*v),
        _ => Json::Null,
    }
}

fn json_to_cbor(v: Json, key: &str) -> Cbor {
    let timestamp = key.ends_with("Timestamp") || key == "Timestamp";
    match v {
        Json::Object(o) => Cbor::Map(
            o.into_iter()
                .map(|(k, v)| {
                    let c = json_to_cbor(v, &k);
                    (Cbor::Text(k), c)
                })
                .collect(),
        ),
        Json::Array(a) => Cbor::Array(a.into_iter().map(|v| json_to_cbor(v, key)).collect()),
        Json::Number(n) if timestamp => {
            Cbor::Tag(1, Box::new(Cbor::Float(n.as_f64().unwrap_or_default())))
        }
        Json::String(s) if timestamp => {
            let secs = chrono::DateTime::parse_from_rfc3339(&s)
                .map(|t| t.timestamp_millis() as f64 / 1000.0)
                .unwrap_or_default();
            Cbor::Tag(1, Box::new(Cbor::Float(secs)))
        }
        Json::Number(n) => match n.as_i64() {
            Some(i) => Cbor::Integer(i.into()),
            None => Cbor::Float(n.as_f64().unwrap_or_default()),
        },
        Json::String(s) => Cbor::Text(s),
        Json::Bool(b) => Cbor::Bool(b),
        Json::Null => Cbor::Null,
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = start + text[start..].find(close)?;
    Some(&text[start..end])
}

fn translate(req: &Request, op: &str, upstream: &str, secrets: &Secrets) -> Vec<u8> {
    let body: Cbor = if req.body.is_empty() {
        Cbor::Map(vec![])
    } else {
        ciborium::de::from_reader(&req.body[..]).unwrap_or(Cbor::Map(vec![]))
    };
    let json = serde_json::to_vec(&cbor_to_json(body)).unwrap();
    let auth = req
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    // Credential=AKID/20260101/us-east-1/monitoring/aws4_request
    let scope = between(auth, "Credential=", ",").unwrap_or_default();
    let mut parts = scope.split('/');
    let (key, region) = (
        parts.next().unwrap_or_default().to_string(),
        parts.nth(1).unwrap_or("us-east-1").to_string(),
    );
    let secret = secrets
        .lock()
        .unwrap()
        .get(&key)
        .cloned()
        .unwrap_or_default();
    let target = format!("GraniteServiceVersion20100801.{op}");
    let mut headers = vec![
        ("host".to_string(), upstream.to_string()),
        (
            "content-type".to_string(),
            "application/x-amz-json-1.0".to_string(),
        ),
        ("x-amz-target".to_string(), target),
    ];
    let identity = aws_sdk_sts::config::Credentials::new(&key, &secret, None, None, "proxy").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name("monitoring")
        .time(std::time::SystemTime::now())
        .settings(aws_sigv4::http_request::SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = aws_sigv4::http_request::SignableRequest::new(
        "POST",
        format!("http://{upstream}/"),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        aws_sigv4::http_request::SignableBody::Bytes(&json),
    )
    .unwrap();
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
        .unwrap()
        .into_parts();
    for (k, v) in instructions.headers() {
        headers.push((k.to_string(), v.to_string()));
    }
    let mut up = TcpStream::connect(upstream).unwrap();
    let mut head = String::from("POST / HTTP/1.1\r\n");
    for (k, v) in &headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        json.len()
    ));
    up.write_all(head.as_bytes()).unwrap();
    up.write_all(&json).unwrap();
    let answer = read_answer(&mut up).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |i| i + 4);
    let status_line = String::from_utf8_lossy(&answer[..split])
        .lines()
        .next()
        .unwrap_or("HTTP/1.1 500 Internal Server Error")
        .to_string();
    let text = String::from_utf8_lossy(&answer[split..]).into_owned();
    let json: Json = if text.trim_start().starts_with('<') {
        // An error moto renders as XML (IAM's AccessDenied).
        serde_json::json!({
            "__type": between(&text, "<Code>", "</Code>").unwrap_or("InternalFailure"),
            "message": between(&text, "<Message>", "</Message>").unwrap_or(""),
        })
    } else if text.trim().is_empty() {
        Json::Object(Default::default())
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|_| serde_json::json!({"__type": "InternalFailure", "message": text}))
    };
    let mut cbor = Vec::new();
    ciborium::ser::into_writer(&json_to_cbor(json, ""), &mut cbor).unwrap();
    let mut out = format!(
        "{status_line}\r\ncontent-type: application/cbor\r\nsmithy-protocol: rpc-v2-cbor\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        cbor.len()
    )
    .into_bytes();
    out.extend_from_slice(&cbor);
    out
}
