//! The session store: on-disk layout, atomic saves, auto-save, metadata database.
