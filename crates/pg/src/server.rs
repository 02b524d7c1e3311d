//! A PostgreSQL server on this machine: Debian's binaries, a data directory
//! under a temporary root, loopback only, trust authentication (nothing but
//! this process can reach 127.0.0.1 of a test machine's port, and the root
//! is removed with it). As root, every server command runs as the `postgres`
//! user (`runuser`), because PostgreSQL refuses to run as root.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the server binaries are: `STOP_PG_BINDIR`, else the newest
/// `/usr/lib/postgresql/<major>/bin` that has `initdb` (Debian's layout).
pub fn bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("STOP_PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| {
            format!("no PostgreSQL server here (/usr/lib/postgresql: {e}); install Debian's postgresql, or set STOP_PG_BINDIR")
        })?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "no initdb under /usr/lib/postgresql/*/bin: install Debian's postgresql".to_owned()
    })
}

/// Who the server commands run as, and where the servers live.
#[derive(Debug)]
pub struct Root {
    pub dir: PathBuf,
    bin: PathBuf,
    /// `Some("postgres")` when this process is root.
    run_as: Option<String>,
}

fn output(command: &mut Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let out = command.output().map_err(|e| format!("{shown}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Root {
    /// A fresh root under the temporary directory, owned by the user the
    /// servers run as.
    pub fn create(label: &str) -> Result<Self, String> {
        use std::os::unix::fs::MetadataExt;
        let bin = bin_dir()?;
        let root_user = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        let run_as = root_user.then(|| "postgres".to_owned());
        let dir = std::env::temp_dir().join(format!(
            "stop-pg-{label}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if let Some(user) = &run_as {
            let id = |flag: &str| -> Result<u32, String> {
                output(Command::new("id").args([flag, user]))?
                    .parse()
                    .map_err(|e| format!("id {flag} {user}: {e}"))
            };
            let (uid, gid) = (id("-u")?, id("-g")?);
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", dir.display()))?;
        }
        Ok(Root { dir, bin, run_as })
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let path = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        command.args(args).current_dir(&self.dir);
        output(&mut command)
    }

    fn append_conf(data: &Path, lines: &str) -> Result<(), String> {
        use std::io::Write;
        let path = data.join("postgresql.conf");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(lines.as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A new primary, started.
    pub fn primary(&self, name: &str) -> Result<Server, String> {
        let data = self.dir.join(name);
        let data_arg = data.to_string_lossy().into_owned();
        self.run(
            "initdb",
            &[
                "-D",
                &data_arg,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        let server = Server::new(name, data, free_port()?);
        Root::append_conf(
            &server.data,
            &format!(
                "\n# stop-pg\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
                 wal_level = replica\nmax_wal_senders = 10\nhot_standby = on\n\
                 wal_keep_size = '256MB'\n",
                server.port,
                self.dir.display()
            ),
        )?;
        self.start(&server)?;
        Ok(server)
    }

    /// A streaming replica of `source` (`pg_basebackup -R`), started: the
    /// re-protect of a real engine.
    pub fn replica_of(&self, source: &Server, name: &str) -> Result<Server, String> {
        let data = self.dir.join(name);
        let data_arg = data.to_string_lossy().into_owned();
        let port = source.port.to_string();
        self.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &data_arg,
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
        )?;
        let server = Server::new(name, data, free_port()?);
        // The copied configuration names the source's port; the last wins.
        Root::append_conf(&server.data, &format!("port = {}\n", server.port))?;
        self.start(&server)?;
        Ok(server)
    }

    pub fn start(&self, server: &Server) -> Result<(), String> {
        let log = self.dir.join(format!("{}.log", server.name));
        self.run(
            "pg_ctl",
            &[
                "-D",
                &server.data.to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .map(drop)
        .inspect_err(|_| {
            // A start that timed out may still be starting: stop it, so
            // nothing keeps running once its directory is removed.
            let _ = self.run(
                "pg_ctl",
                &[
                    "-D",
                    &server.data.to_string_lossy(),
                    "-m",
                    "immediate",
                    "stop",
                ],
            );
        })
    }

    pub fn stop(&self, server: &Server) -> Result<(), String> {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &server.data.to_string_lossy(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        )
        .map(drop)
    }

    /// Stops every server under the root and removes it.
    pub fn remove(&self, servers: &[&Server]) {
        for server in servers {
            if let Err(e) = self.stop(server) {
                tracing::debug!(error = %e, "stop");
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(error = %e, dir = %self.dir.display(), "could not remove");
        }
    }
}

/// One server: its name (the instance identifier the runbook uses), its
/// data directory and its loopback port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub name: String,
    pub data: PathBuf,
    pub port: u16,
}

impl Server {
    fn new(name: &str, data: PathBuf, port: u16) -> Self {
        Server {
            name: name.to_owned(),
            data,
            port,
        }
    }

    /// What `tokio_postgres::connect` takes for this server.
    pub fn conninfo(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=5",
            self.port
        )
    }
}

/// A loopback port nothing listens on now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}
