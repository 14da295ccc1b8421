//! A plain HTTP/1.1 client over a fresh TCP connection per request, with
//! the response read whole (`Connection: close`). Written by hand rather than
//! taken from a client library so that the tests see exactly the status line,
//! headers and body the exporter sends, and can also write raw requests.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as sent.
    pub raw: Vec<u8>,
    /// The body as text, decompressed when it came with `Content-Encoding: gzip`.
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 GET over a fresh connection.
pub async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    try_http_get(addr, path, headers)
        .await
        .unwrap_or_else(|| panic!("GET http://{addr}{path} failed"))
}

/// Like [`http_get`], `None` when nothing answers.
pub async fn try_http_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Option<HttpResponse> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (key, value) in headers {
        request.push_str(&format!("{key}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    Some(read_response(stream).await)
}

/// Reads a whole `Connection: close` response.
pub async fn read_response(mut stream: tokio::net::TcpStream) -> HttpResponse {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("complete response");
    let head = std::str::from_utf8(&raw[..end]).expect("UTF-8 head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut response = HttpResponse {
        status,
        headers,
        raw: raw[end + 4..].to_vec(),
        body: String::new(),
    };
    response.body = match response.header("content-encoding") {
        Some("gzip") => {
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::GzDecoder::new(&response.raw[..]),
                &mut text,
            )
            .expect("a valid gzip stream of UTF-8 text");
            text
        }
        None => String::from_utf8(response.raw.clone()).expect("UTF-8 body"),
        Some(other) => panic!("unexpected Content-Encoding {other}"),
    };
    response
}
