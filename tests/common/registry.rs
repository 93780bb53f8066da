//! Debian's `docker-registry` (Distribution 2.8) on 127.0.0.1 with its data in a test's temp dir;
//! stopped when the handle drops.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const REGISTRY: &str = "/usr/bin/docker-registry";

pub struct Registry {
    child: Child,
    pub port: u16,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A registry storing under `dir/data`, configured by `dir/config.yml`.
pub fn start_registry(dir: &Path) -> Registry {
    assert!(
        Path::new(REGISTRY).exists(),
        "apt-get install docker-registry"
    );
    let port = free_port();
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let child = Command::new(REGISTRY)
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reg = Registry { child, port };
    // Readiness: the port accepts connections (or the process died, which fails the test).
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return reg;
        }
        if let Some(status) = reg.child.try_wait().unwrap() {
            panic!("docker-registry exited: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
