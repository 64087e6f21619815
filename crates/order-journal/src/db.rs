//! Opening the database, migrations and the internal connection pool.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::{JournalError, Result};
use crate::types::Timestamp;

/// Mode of the journal and its `-wal`/`-shm` files on Unix: the owner only.
pub const FILE_MODE: u32 = 0o600;

/// Creates the database file with mode 0600 before SQLite opens it (SQLite gives its `-wal` and
/// `-shm` files the database file's mode), and narrows an existing database, `-wal` or `-shm`
/// that is wider: the journal never depends on the umask. No-op outside Unix.
fn prepare_private_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // No such folder: SQLite's open error says it best.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        let mut names = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            names.push(PathBuf::from(name));
        }
        for name in names {
            match std::fs::metadata(&name) {
                Ok(m) if m.permissions().mode() & 0o7777 != FILE_MODE => {
                    std::fs::set_permissions(&name, std::fs::Permissions::from_mode(FILE_MODE))?;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Embedded, numbered migrations. Append only: never edit a released one.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "0001_init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "0002_no_record_identity",
        include_str!("../migrations/0002_no_record_identity.sql"),
    ),
    (
        3,
        "0003_ledger_outbox",
        include_str!("../migrations/0003_ledger_outbox.sql"),
    ),
    (
        4,
        "0004_cold_indexes",
        include_str!("../migrations/0004_cold_indexes.sql"),
    ),
    (
        5,
        "0005_consumer_search",
        include_str!("../migrations/0005_consumer_search.sql"),
    ),
    (
        6,
        "0006_counter",
        include_str!("../migrations/0006_counter.sql"),
    ),
    (
        7,
        "0007_consumer_suffixes",
        include_str!("../migrations/0007_consumer_suffixes.sql"),
    ),
];

/// How long a connection waits for a lock held by another connection or process.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections kept open for reuse (file databases only).
const MAX_IDLE_READERS: usize = 4;

/// Where "now" comes from. Tests and the benchmark inject a fixed or stepped clock.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The order journal. Cheap to clone; all clones share one writer connection and a small pool
/// of read connections, and synchronize themselves (do not wrap it in a Mutex).
///
/// The API is synchronous: from async code call it inside `tokio::task::spawn_blocking`.
#[derive(Clone)]
pub struct Journal {
    pub(crate) inner: Arc<Inner>,
    pub(crate) clock: Clock,
    pub(crate) pre_send_sync: PreSendSync,
}

/// Which of the two commits before a send are fsynced. The app uses the default,
/// [`PreSendSync::SendingOnly`]; the others exist so the per-order benchmark can measure what
/// each fsync costs on the real code path (README: *Durability*).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PreSendSync {
    /// `record_intent` and `mark_sending` are both fsynced.
    Both,
    /// Only `mark_sending` is fsynced; its fsync also makes the earlier intent durable (one
    /// write-ahead log, written in order). The app's setting.
    #[default]
    SendingOnly,
    /// Neither: crash-safe, not power-cut-safe. Weakens order truth; measured for reference only.
    Neither,
}

pub(crate) struct Inner {
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    path: Option<PathBuf>,
    /// The exclusive lock of [`Journal::open_for`], released when the last clone is dropped
    /// (or the process dies: the OS releases it).
    _lock: Option<std::fs::File>,
}

/// The one D1 whose orders a journal holds: a journal is never shared between D1s, so an order
/// is only ever reconciled with the D1 that received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalIdentity {
    /// `training`, `staging`, `production` or `custom`.
    pub environment: String,
    /// D1's issuer id.
    pub issuer_id: String,
}

impl fmt::Display for JournalIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.environment, self.issuer_id)
    }
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a half-written transaction behind (rusqlite
    // rolls back on drop), so a poisoned lock is safe to keep using.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Journal {
    /// Opens (creating if needed) the journal file, switches it to WAL and applies pending
    /// migrations. The parent folder must exist. On Unix the file and its `-wal`/`-shm` are
    /// 0600 whatever the umask (a wider existing file is narrowed).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_locked(path.as_ref(), None)
    }

    fn open_locked(path: &Path, lock: Option<std::fs::File>) -> Result<Self> {
        let path = path.to_path_buf();
        let open_err = |source| JournalError::Open {
            path: path.clone(),
            source,
        };
        prepare_private_file(&path).map_err(|e| JournalError::Permissions {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        let mut conn = Connection::open(&path).map_err(open_err)?;
        configure(&conn, true).map_err(open_err)?;
        migrate(&mut conn)?;
        // Planner statistics, refreshed only when a table never had them or grew tenfold (a full
        // ANALYZE: ~0.2 s per 100,000 orders, so rarely and briefly): with them SQLite drives a
        // combined filter from its most selective index.
        conn.execute_batch("PRAGMA optimize = 0x10002;")
            .map_err(open_err)?;
        Ok(Self::from_parts(conn, Some(path), lock))
    }

    /// Opens the journal of the D1 `identity` as the desk's one writer: takes an exclusive
    /// lock (`<file>.lock` beside it) held while any clone of the returned journal lives, then
    /// opens it like [`Journal::open`], stamps a new file with `identity` and refuses a file
    /// stamped for another D1.
    ///
    /// A second desk process on the same file gets [`JournalError::InUse`]; a journal of
    /// another D1 gets [`JournalError::OtherD1`]. Neither touches the file.
    pub fn open_for(path: impl AsRef<Path>, identity: &JournalIdentity) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let lock_path = lock_path(&path);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| JournalError::Lock {
                path: lock_path.clone(),
                source,
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError::InUse { path });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(JournalError::Lock {
                    path: lock_path,
                    source,
                });
            }
        }
        let journal = Self::open_locked(&path, Some(lock))?;
        journal.stamp(identity)?;
        Ok(journal)
    }

    /// The D1 this journal belongs to, once stamped by [`Journal::open_for`].
    pub fn identity(&self) -> Result<Option<JournalIdentity>> {
        self.with_writer(|c| {
            Ok(c.query_row(
                "SELECT environment, issuer_id FROM journal_identity WHERE id = 1",
                [],
                |r| {
                    Ok(JournalIdentity {
                        environment: r.get(0)?,
                        issuer_id: r.get(1)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn stamp(&self, identity: &JournalIdentity) -> Result<()> {
        let now = self.now().as_millis();
        self.with_writer(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let found: Option<JournalIdentity> = tx
                .query_row(
                    "SELECT environment, issuer_id FROM journal_identity WHERE id = 1",
                    [],
                    |r| {
                        Ok(JournalIdentity {
                            environment: r.get(0)?,
                            issuer_id: r.get(1)?,
                        })
                    },
                )
                .optional()?;
            match found {
                Some(found) if &found == identity => Ok(()),
                Some(found) => Err(JournalError::OtherD1 {
                    found,
                    expected: identity.clone(),
                }),
                None => {
                    tx.execute(
                        "INSERT INTO journal_identity (id, environment, issuer_id, stamped_at)
                         VALUES (1, ?1, ?2, ?3)",
                        rusqlite::params![identity.environment, identity.issuer_id, now],
                    )?;
                    tx.commit()?;
                    Ok(())
                }
            }
        })
    }

    /// A private in-memory journal (tests, training mode without a profile). Reads and writes
    /// share one connection.
    pub fn open_in_memory() -> Result<Self> {
        let path = PathBuf::from(":memory:");
        let mut conn = Connection::open_in_memory().map_err(|source| JournalError::Open {
            path: path.clone(),
            source,
        })?;
        configure(&conn, false).map_err(|source| JournalError::Open { path, source })?;
        migrate(&mut conn)?;
        Ok(Self::from_parts(conn, None, None))
    }

    fn from_parts(conn: Connection, path: Option<PathBuf>, lock: Option<std::fs::File>) -> Self {
        Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(conn),
                readers: Mutex::new(Vec::new()),
                path,
                _lock: lock,
            }),
            clock: Arc::new(Timestamp::now),
            pre_send_sync: PreSendSync::default(),
        }
    }

    /// Benchmark only: which pre-send commits are fsynced ([`PreSendSync`]).
    #[doc(hidden)]
    #[must_use]
    pub fn with_pre_send_sync(mut self, sync: PreSendSync) -> Self {
        self.pre_send_sync = sync;
        self
    }

    /// Replaces the clock (tests, benchmarks, replay). Applies to this handle and its clones made
    /// afterwards.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The database file, or `None` for an in-memory journal.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    pub(crate) fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Runs `f` on the writer connection (exclusive).
    pub(crate) fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut guard = lock(&self.inner.writer);
        f(&mut guard)
    }

    /// Like [`Journal::with_writer`], but the commits inside `f` are fsynced before they return
    /// (`synchronous=FULL`): they survive a power cut, not only a crash.
    pub(crate) fn with_durable_writer<T>(
        &self,
        durable: bool,
        f: impl FnOnce(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        let mut guard = lock(&self.inner.writer);
        if self.inner.path.is_none() || !durable {
            return f(&mut guard);
        }
        guard.pragma_update(None, "synchronous", "FULL")?;
        let out = f(&mut guard);
        let reset = guard.pragma_update(None, "synchronous", "NORMAL");
        let out = out?;
        reset?;
        Ok(out)
    }

    /// Runs `f` on a read connection (file databases), or on the writer (in memory).
    pub(crate) fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let Some(path) = &self.inner.path else {
            let guard = lock(&self.inner.writer);
            return f(&guard);
        };
        let pooled = lock(&self.inner.readers).pop();
        let conn = match pooled {
            Some(c) => c,
            None => open_reader(path)?,
        };
        let out = f(&conn);
        let mut idle = lock(&self.inner.readers);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        out
    }

    /// Runs SQLite's `PRAGMA integrity_check` and `foreign_key_check`, and checks the consumer
    /// search index against the orders; `Ok(vec![])` means healthy, otherwise the problems found.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        self.with_writer(|c| {
            let mut problems = Vec::new();
            let mut st = c.prepare("PRAGMA integrity_check")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            for row in rows {
                let row = row?;
                if row != "ok" {
                    problems.push(row);
                }
            }
            let mut st = c.prepare("PRAGMA foreign_key_check")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            for row in rows {
                problems.push(format!("foreign key violation in {}", row?));
            }
            let (missing, stale): (i64, i64) = c.query_row(
                "SELECT (SELECT count(*) FROM (SELECT * FROM orders_consumer_suffix_expected
                                               EXCEPT SELECT * FROM orders_consumer_suffix)),
                        (SELECT count(*) FROM (SELECT * FROM orders_consumer_suffix
                                               EXCEPT SELECT * FROM orders_consumer_suffix_expected))",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if missing > 0 {
                problems.push(format!(
                    "the consumer search index lacks {missing} entries of the orders"
                ));
            }
            if stale > 0 {
                problems.push(format!(
                    "the consumer search index holds {stale} entries of no order"
                ));
            }
            Ok(problems)
        })
    }

    /// Highest applied schema version.
    pub fn schema_version(&self) -> Result<i64> {
        self.with_writer(|c| Ok(current_version(c)?))
    }

    /// Lets SQLite refresh its planner statistics where they are missing or stale. `open`
    /// already does it; call it again after large changes (pruning, a long session).
    pub fn optimize(&self) -> Result<()> {
        self.with_writer(|c| Ok(c.execute_batch("PRAGMA optimize = 0x10002;")?))
    }
}

/// The lock file of a journal: `<journal file name>.lock` in the same folder.
pub fn lock_path(journal: &Path) -> PathBuf {
    let mut name = journal
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    journal.with_file_name(name)
}

fn configure(conn: &Connection, file: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    if file {
        // WAL: readers never block the writer. NORMAL: every commit survives a crash of the app
        // (SIGKILL); the commit that must also survive a power cut — `mark_sending`, right
        // before anything goes to D1 — switches to FULL (an fsync) for itself, which also makes
        // every earlier commit (the intent) durable.
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(journal_mode = %mode, "order journal is not in WAL mode");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    // Deleted rows are zeroed, so pruned orders do not linger in free pages.
    conn.pragma_update(None, "secure_delete", true)?;
    Ok(())
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "cache_size", -16_000)?;
    Ok(conn)
}

fn current_version(conn: &Connection) -> rusqlite::Result<i64> {
    let exists: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )
}

pub(crate) fn known_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    // A migration may rebuild a table (SQLite cannot change a constraint in place); with foreign
    // keys on, dropping the old table would cascade into the history. They go off for the
    // migration (it cannot be switched inside a transaction) and the keys are checked before
    // the commit.
    conn.pragma_update(None, "foreign_keys", false)?;
    let migrated = migrate_in_transaction(conn);
    conn.pragma_update(None, "foreign_keys", true)?;
    migrated
}

fn migrate_in_transaction(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT    NOT NULL,
             applied_at INTEGER NOT NULL
         ) STRICT",
    )?;
    let found = current_version(&tx)?;
    let known = known_version();
    if found > known {
        return Err(JournalError::NewerSchema { found, known });
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![version, name, Timestamp::now().as_millis()],
        )?;
        tracing::info!(version, name, "order journal migrated");
    }
    let broken: Option<String> = tx
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()?;
    if broken.is_some() {
        return Err(JournalError::Corrupt {
            column: "order_events.order_id",
        });
    }
    tx.commit()?;
    Ok(())
}
