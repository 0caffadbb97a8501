import { PGlite } from '@electric-sql/pglite';

/**
 * `node pglite-create.js <folder> <start parameters...>`: creates the embedded database in an
 * empty folder and exits. createPglite runs it in a process of its own on a first start, so
 * what creating a database takes (a second PostgreSQL instance that runs initdb, a copy of its
 * memory, the files' tarball) is returned to the system when that process ends, instead of
 * staying in the server's resident memory.
 */
const [dataDir, ...startParams] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: pglite-create <data folder> [start parameters]');
const pglite = await PGlite.create(dataDir, { startParams });
await pglite.close();
