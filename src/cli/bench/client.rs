//! One keep-alive HTTP/1.1 connection to the target, reopened after an error.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{handshake, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where the load goes: a resolved address plus what goes in `Host` and before each path.
#[derive(Debug, Clone)]
pub struct Target {
    /// Resolved address.
    pub addr: SocketAddr,
    /// `Host` header value.
    pub host: String,
    /// Path prefix of the base URL, without a trailing `/`.
    pub base_path: String,
}

/// Why a base URL cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Not an `http://host[:port][/prefix]` URL.
    #[error("--to must be an http:// URL: {0}")]
    Url(String),
    /// Name resolution failed.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host.
        host: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The host is not a loopback address and `--allow-remote` was not given.
    #[error("{0} is not a loopback address; pass --allow-remote to load another machine")]
    NotLoopback(SocketAddr),
}

impl Target {
    /// Parses and resolves `url`; refuses non-loopback addresses unless `allow_remote`.
    pub async fn resolve(url: &str, allow_remote: bool) -> Result<Target, TargetError> {
        let uri: http::Uri = url.parse().map_err(|_| TargetError::Url(url.into()))?;
        let authority = match (uri.scheme_str(), uri.authority()) {
            (Some("http"), Some(authority)) => authority.clone(),
            _ => return Err(TargetError::Url(url.into())),
        };
        let port = authority.port_u16().unwrap_or(80);
        let host = authority.host().trim_matches(['[', ']']);
        let addr = tokio::net::lookup_host((host, port))
            .await
            .map_err(|source| TargetError::Resolve {
                host: host.into(),
                source,
            })?
            .next()
            .ok_or_else(|| TargetError::Url(url.into()))?;
        if !allow_remote && !addr.ip().is_loopback() {
            return Err(TargetError::NotLoopback(addr));
        }
        Ok(Target {
            addr,
            host: authority.to_string(),
            base_path: uri.path().trim_end_matches('/').to_owned(),
        })
    }
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The TCP connection could not be opened.
    #[error("connect: {0}")]
    Connect(#[from] std::io::Error),
    /// The HTTP exchange failed (connection closed, malformed response, …).
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// No complete response within the timeout.
    #[error("no response within {0:?}")]
    Timeout(Duration),
}

/// A keep-alive connection; a failed exchange drops it and the next request reconnects.
pub struct Conn {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// Opens a connection to `target`.
    pub async fn open(target: &Target) -> Result<Conn, SendError> {
        let mut conn = Conn {
            target: target.clone(),
            sender: None,
        };
        conn.ready().await?;
        Ok(conn)
    }

    async fn ready(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, SendError> {
        if let Some(sender) = &mut self.sender {
            if sender.ready().await.is_err() {
                self.sender = None;
            }
        }
        if self.sender.is_none() {
            let stream = TcpStream::connect(self.target.addr).await?;
            stream.set_nodelay(true)?;
            let (sender, conn) = handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("connected above"))
    }

    /// Sends one request to `base_path + path` and reads the whole response, within `timeout`.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(String, String)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), SendError> {
        let exchange = async {
            let mut req = Request::builder()
                .method(method)
                .uri(format!("{}{}", self.target.base_path, path))
                .header(http::header::HOST, self.target.host.as_str());
            for (name, value) in headers {
                req = req.header(name.as_str(), value.as_str());
            }
            let req = req
                .body(Full::new(body))
                .expect("bench requests are well-formed");
            let res = self.ready().await?.send_request(req).await?;
            let status = res.status();
            let body = res.into_body().collect().await?.to_bytes();
            Ok((status, body))
        };
        let result = match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout(timeout)),
        };
        if result.is_err() {
            self.sender = None;
        }
        result
    }
}
