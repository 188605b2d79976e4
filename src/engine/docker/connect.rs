//! Reaching a Docker Engine by the address a user gives: `unix://PATH`, `tcp://HOST:PORT`
//! (plain, or with TLS when `DOCKER_TLS_VERIFY` is set), `https://HOST:PORT` (TLS with the
//! key, certificate and CA of `DOCKER_CERT_PATH`, default `~/.docker`), `ssh://USER@HOST`
//! (bollard runs `ssh USER@HOST docker system dial-stdio`, so the remote host needs the
//! docker CLI), or the name of a docker context (its endpoint and TLS material read from
//! `~/.docker/contexts`, as the docker CLI stores them).

use std::path::{Path, PathBuf};

use bollard::{API_DEFAULT_VERSION, Docker};
use sha2::{Digest, Sha256};

/// Seconds a request to the engine may take.
const TIMEOUT_S: u64 = 120;

/// Where and how to reach an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(String),
    Http(String),
    Tls { addr: String, certs: PathBuf },
    Ssh(String),
}

/// How the environment asks for TLS, as the docker CLI reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsEnv {
    /// `DOCKER_CERT_PATH`: the folder of key.pem, cert.pem and ca.pem.
    pub cert_path: Option<PathBuf>,
    /// `DOCKER_TLS_VERIFY` is set: tcp:// addresses use TLS too.
    pub verify: bool,
}

/// The endpoint `url` names. A context is looked up in `docker_config` (`~/.docker`),
/// which is also where TLS files are looked for without `DOCKER_CERT_PATH`.
pub fn endpoint(url: &str, docker_config: &Path, tls: &TlsEnv) -> Result<Endpoint, String> {
    let certs = || {
        tls.cert_path
            .clone()
            .unwrap_or_else(|| docker_config.to_path_buf())
    };
    match url.split_once("://") {
        Some(("unix", _)) => Ok(Endpoint::Unix(url.to_string())),
        Some(("tcp", _)) if tls.verify => Ok(Endpoint::Tls {
            addr: url.to_string(),
            certs: certs(),
        }),
        Some(("tcp", _)) | Some(("http", _)) => Ok(Endpoint::Http(url.to_string())),
        Some(("https", _)) => Ok(Endpoint::Tls {
            addr: url.to_string(),
            certs: certs(),
        }),
        Some(("ssh", _)) => match ssh_port(url) {
            // bollard 0.21 hands ssh the address without its scheme, and `ssh HOST:PORT`
            // takes the port for part of the host name ("Could not resolve hostname
            // 127.0.0.1:2222"): the port has to come from ssh's own configuration.
            Some((host, port)) => Err(format!(
                "an ssh:// address cannot carry a port here (the SSH transport of bollard, \
                 the Docker client library used, drops it). Put the port in ~/.ssh/config \
                 (`Host {host}` with `Port {port}`, or an alias with `HostName {host}` and \
                 `Port {port}`) and give ssh://USER@{host} (or the alias)"
            )),
            None => Ok(Endpoint::Ssh(url.to_string())),
        },
        Some((scheme, _)) => Err(format!(
            "the scheme {scheme}:// is not one of unix://, tcp://, https://, ssh://. Give \
             unix://PATH, tcp://HOST:PORT, https://HOST:PORT, ssh://USER@HOST or the name of \
             a docker context (`docker context ls`)"
        )),
        None => context(url, docker_config),
    }
}

/// The host and port of an ssh:// address, when it names a port.
fn ssh_port(url: &str) -> Option<(String, u16)> {
    let uri: http::Uri = url.parse().ok()?;
    let authority = uri.authority()?;
    Some((authority.host().to_string(), authority.port_u16()?))
}

/// A docker context's endpoint, from the CLI's store: `contexts/meta/<sha256 of the
/// name>/meta.json`, and its TLS files under `contexts/tls/<same>/docker/`.
fn context(name: &str, docker_config: &Path) -> Result<Endpoint, String> {
    let id: String = Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let meta = docker_config
        .join("contexts/meta")
        .join(&id)
        .join("meta.json");
    let text = std::fs::read_to_string(&meta).map_err(|_| {
        format!(
            "{name:?} is neither an address (unix://, tcp://, https://, ssh://) nor a docker \
             context ({} not found; see `docker context ls`)",
            meta.display()
        )
    })?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("context {name:?}: {} is not JSON: {e}", meta.display()))?;
    let host = v["Endpoints"]["docker"]["Host"].as_str().ok_or_else(|| {
        format!(
            "context {name:?} has no docker endpoint in {}",
            meta.display()
        )
    })?;
    let tls = docker_config.join("contexts/tls").join(&id).join("docker");
    if tls.join("cert.pem").exists() {
        return Ok(Endpoint::Tls {
            addr: host.to_string(),
            certs: tls,
        });
    }
    endpoint(host, docker_config, &TlsEnv::default())
}

/// A client for `endpoint` (no request is made yet).
pub fn client(endpoint: &Endpoint) -> Result<Docker, String> {
    let v = API_DEFAULT_VERSION;
    let made = match endpoint {
        Endpoint::Unix(url) => Docker::connect_with_unix(url, TIMEOUT_S, v),
        Endpoint::Http(url) => Docker::connect_with_http(url, TIMEOUT_S, v),
        Endpoint::Tls { addr, certs } => {
            for file in ["key.pem", "cert.pem", "ca.pem"] {
                if !certs.join(file).exists() {
                    return Err(format!(
                        "TLS needs {file} in {} (set DOCKER_CERT_PATH to the folder holding \
                         key.pem, cert.pem and ca.pem)",
                        certs.display()
                    ));
                }
            }
            Docker::connect_with_ssl(
                addr,
                &certs.join("key.pem"),
                &certs.join("cert.pem"),
                &certs.join("ca.pem"),
                TIMEOUT_S,
                v,
            )
        }
        Endpoint::Ssh(url) => Docker::connect_with_ssh(url, TIMEOUT_S, v, None),
    };
    made.map_err(|e| e.to_string())
}

/// The user's docker config folder: `DOCKER_CONFIG`, or `~/.docker`.
pub fn docker_config_dir() -> PathBuf {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
        .unwrap_or_else(|| PathBuf::from(".docker"))
}

/// What the environment says about TLS (`DOCKER_CERT_PATH`, `DOCKER_TLS_VERIFY`).
pub fn env_tls() -> TlsEnv {
    TlsEnv {
        cert_path: std::env::var_os("DOCKER_CERT_PATH")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        verify: std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty() && v != "0"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_their_transport() {
        let cfg = Path::new("/nonexistent");
        let none = TlsEnv::default();
        let certs = TlsEnv {
            cert_path: Some("/certs".into()),
            verify: false,
        };
        assert_eq!(
            endpoint("unix:///var/run/docker.sock", cfg, &none),
            Ok(Endpoint::Unix("unix:///var/run/docker.sock".into()))
        );
        assert_eq!(
            endpoint("tcp://127.0.0.1:2375", cfg, &certs),
            Ok(Endpoint::Http("tcp://127.0.0.1:2375".into()))
        );
        let verify = TlsEnv {
            verify: true,
            ..certs.clone()
        };
        assert_eq!(
            endpoint("tcp://127.0.0.1:2376", cfg, &verify),
            Ok(Endpoint::Tls {
                addr: "tcp://127.0.0.1:2376".into(),
                certs: "/certs".into()
            }),
            "DOCKER_TLS_VERIFY turns tcp:// into TLS"
        );
        assert_eq!(
            endpoint("https://h:2376", cfg, &certs),
            Ok(Endpoint::Tls {
                addr: "https://h:2376".into(),
                certs: "/certs".into()
            })
        );
        assert_eq!(
            endpoint("https://h:2376", cfg, &none),
            Ok(Endpoint::Tls {
                addr: "https://h:2376".into(),
                certs: cfg.to_path_buf()
            }),
            "without DOCKER_CERT_PATH, the docker config folder"
        );
        assert_eq!(
            endpoint("ssh://me@box", cfg, &none),
            Ok(Endpoint::Ssh("ssh://me@box".into()))
        );
        assert_eq!(
            endpoint("ssh://me@[::1]", cfg, &none),
            Ok(Endpoint::Ssh("ssh://me@[::1]".into()))
        );
        for with_port in ["ssh://me@box:2222", "ssh://box:22/", "ssh://me@[::1]:2222"] {
            let e = endpoint(with_port, cfg, &none).unwrap_err();
            assert!(e.contains("~/.ssh/config") && e.contains("Port 2"), "{e}");
        }
        let e = endpoint("ftp://x", cfg, &none).unwrap_err();
        assert!(e.contains("ftp://"), "{e}");
        let e = endpoint("nosuchcontext", cfg, &none).unwrap_err();
        assert!(e.contains("docker context ls"), "{e}");
    }

    #[test]
    fn a_context_is_read_from_the_cli_store() {
        let dir = tempfile::tempdir().unwrap();
        let id: String = Sha256::digest(b"lab")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let meta = dir.path().join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"lab","Endpoints":{"docker":{"Host":"tcp://10.0.0.5:2375"}}}"#,
        )
        .unwrap();
        assert_eq!(
            endpoint("lab", dir.path(), &TlsEnv::default()),
            Ok(Endpoint::Http("tcp://10.0.0.5:2375".into()))
        );
        let tls = dir.path().join("contexts/tls").join(&id).join("docker");
        std::fs::create_dir_all(&tls).unwrap();
        std::fs::write(tls.join("cert.pem"), "x").unwrap();
        assert_eq!(
            endpoint("lab", dir.path(), &TlsEnv::default()),
            Ok(Endpoint::Tls {
                addr: "tcp://10.0.0.5:2375".into(),
                certs: tls
            })
        );
    }

    #[test]
    fn tls_without_its_files_says_which_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let e = client(&Endpoint::Tls {
            addr: "tcp://127.0.0.1:1".into(),
            certs: dir.path().to_path_buf(),
        })
        .unwrap_err();
        assert!(
            e.contains("key.pem") && e.contains("DOCKER_CERT_PATH"),
            "{e}"
        );
    }
}
