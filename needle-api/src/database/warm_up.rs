//! [`Database::warm_up`]: every collection's [`Collection::warm_up`](crate::Collection::warm_up),
//! for servers that want their first queries after a restart to be as fast as the rest.

use needle_core::Result;

use super::Database;

impl Database {
    /// Warms every collection (see [`Collection::warm_up`](crate::Collection::warm_up)); returns
    /// the bytes of vector data touched.
    pub fn warm_up(&self) -> Result<u64> {
        let mut touched = 0;
        for name in self.list_collections()? {
            touched += self.collection(&name)?.warm_up()?;
        }
        Ok(touched)
    }
}
