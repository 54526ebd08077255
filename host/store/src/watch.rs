//! Live updates: what other connections changed, as revision and item ids, so that a view can
//! reload the item or frame on screen. On PostgreSQL a watcher listens on a connection of its own
//! (`LISTEN`; the revisions table's trigger says which revisions each statement added) and, after a
//! lost connection, reconnects and catches up from its revision cursor. A file has no
//! notifications: its watcher polls the revision log.

use crate::db::{Conn, Db, Engine, vals};
use crate::error::Result;
use crate::location::LocationKind;
use crate::project::{Project, connect};
use crate::schema::NOTIFY_CHANNEL;
use cairn_model::{ItemId, RevisionId};
use std::time::{Duration, Instant};

/// One revision someone committed, and the item it touched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    pub revision: RevisionId,
    pub item: ItemId,
}

/// How often a file's watcher looks at the revision log.
const POLL: Duration = Duration::from_millis(100);
/// Revisions one catch-up read returns at most; the next wait reads on.
const CATCH_UP: i64 = 10_000;

/// Waits for changes committed after it was made (or after its cursor).
pub struct Watcher {
    db: Db,
    cursor: i64,
    listening: bool,
}

impl Project {
    /// A watcher on its own connection, starting after the newest revision now in the project.
    pub fn watch(&self) -> Result<Watcher> {
        let cursor = self.db.scalar::<Option<i64>>("SELECT max(id) FROM revisions", &[])?.unwrap_or(0);
        let db = reconnect(&self.db)?;
        let mut watcher = Watcher { db, cursor, listening: false };
        watcher.listen()?;
        Ok(watcher)
    }

    /// Revisions after `cursor`, oldest first (at most `CATCH_UP`).
    pub fn changes_since(&self, cursor: RevisionId) -> Result<Vec<Change>> {
        changes_since(&self.db, cursor.0)
    }
}

fn changes_since(db: &Db, cursor: i64) -> Result<Vec<Change>> {
    let rows = db.query("SELECT id, item_id FROM revisions WHERE id > ?1 ORDER BY id LIMIT ?2", &vals![cursor, CATCH_UP])?;
    rows.iter().map(|r| Ok(Change { revision: RevisionId(r.get(0)?), item: ItemId(r.get(1)?) })).collect()
}

/// A second connection to the same project.
fn reconnect(db: &Db) -> Result<Db> {
    let location = db.location.clone();
    let conn = match location.kind() {
        LocationKind::File(path) => {
            let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| db.sqlite_error(e))?;
            conn.busy_timeout(Duration::from_secs(5)).map_err(|e| db.sqlite_error(e))?;
            Conn::Sqlite(conn)
        }
        LocationKind::Server(config) => Conn::Postgres(Box::new(connect(config, &location)?.into())),
    };
    Ok(Db::new(conn, location))
}

impl Watcher {
    /// The newest revision this watcher has reported.
    pub fn cursor(&self) -> RevisionId {
        RevisionId(self.cursor)
    }

    fn listen(&mut self) -> Result<()> {
        if self.db.engine() == Engine::Postgres && !self.listening {
            self.db.batch(&format!("LISTEN {NOTIFY_CHANNEL}"))?;
            self.listening = true;
        }
        Ok(())
    }

    /// Changes committed since the last call, waiting up to `timeout` for the first; empty when
    /// nothing changed. A lost server connection is made again, and what was missed is caught up.
    pub fn wait(&mut self, timeout: Duration) -> Result<Vec<Change>> {
        let changes = match self.db.engine() {
            Engine::Sqlite => self.poll(timeout)?,
            Engine::Postgres => match self.notified(timeout) {
                Ok(changes) => changes,
                Err(_) => {
                    // The connection is gone: a new one, then everything after the cursor.
                    self.db = reconnect(&self.db)?;
                    self.listening = false;
                    self.listen()?;
                    changes_since(&self.db, self.cursor)?
                }
            },
        };
        if let Some(last) = changes.iter().map(|c| c.revision.0).max() {
            self.cursor = self.cursor.max(last);
        }
        Ok(changes)
    }

    fn poll(&mut self, timeout: Duration) -> Result<Vec<Change>> {
        let until = Instant::now() + timeout;
        loop {
            let changes = changes_since(&self.db, self.cursor)?;
            if !changes.is_empty() || Instant::now() >= until {
                return Ok(changes);
            }
            std::thread::sleep(POLL.min(until.saturating_duration_since(Instant::now())));
        }
    }

    /// Reads notifications; their payloads name the revisions, or `*` for "too many: catch up".
    fn notified(&mut self, timeout: Duration) -> std::result::Result<Vec<Change>, postgres::Error> {
        let Conn::Postgres(pg) = &self.db.conn else { unreachable!("a server watcher") };
        let mut payloads = Vec::new();
        {
            let mut pg = pg.borrow_mut();
            let mut notifications = pg.client.notifications();
            let first = postgres::fallible_iterator::FallibleIterator::next(&mut notifications.timeout_iter(timeout))?;
            if let Some(first) = first {
                payloads.push(first.payload().to_owned());
                // Whatever else has arrived already comes with it.
                let mut more = notifications.iter();
                while let Some(n) = postgres::fallible_iterator::FallibleIterator::next(&mut more)? {
                    payloads.push(n.payload().to_owned());
                }
            }
        }
        if payloads.is_empty() {
            // Also a check that the connection still works, so that a lost one is found while idle.
            pg.borrow_mut().client.simple_query("")?;
            return Ok(Vec::new());
        }
        let mut changes = Vec::new();
        for payload in &payloads {
            if payload == "*" {
                return Ok(changes_since(&self.db, self.cursor).unwrap_or_default());
            }
            for pair in payload.split(',') {
                if let Some((revision, item)) = pair.split_once(':')
                    && let (Ok(revision), Ok(item)) = (revision.parse(), item.parse())
                {
                    // Each commit is told once, and transactions commit out of id order: no
                    // filtering by the cursor here.
                    changes.push(Change { revision: RevisionId(revision), item: ItemId(item) });
                }
            }
        }
        changes.sort();
        Ok(changes)
    }
}
