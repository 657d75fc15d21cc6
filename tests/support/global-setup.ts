import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/orm.js';
import { createServerDatabase, dropRunDatabases, readTemplateState, serverUrl, type ServerDatabase, type TemplateState } from './database.js';

/**
 * Once per test run:
 * - a temporary directory where the first spawned-server test file builds the server and
 *   every other one reuses the build (tests/support/server-process.ts), removed when the
 *   run ends, so no build output lands in the working tree;
 * - on PostgreSQL, one database with every migration applied, which each test file's
 *   database copies (tests/support/database.ts) instead of migrating its own; those copies
 *   are reused by the next file on the same worker and all dropped when the run ends.
 */
export default async function setup(project: TestProject) {
  const root = mkdtempSync(path.join(tmpdir(), 'storefront-build-'));
  project.provide('serverBuildRoot', root);

  const adminUrl = serverUrl();
  const runTag = randomBytes(4).toString('hex');
  let template: ServerDatabase | undefined;
  let state: TemplateState | null = null;
  if (adminUrl) {
    template = await createServerDatabase('storefront_template');
    // Closed before any copy: PostgreSQL copies a template only while nobody is connected to it.
    await (await openDatabase({ url: template.url })).close(true);
    state = await readTemplateState(template.url);
  }
  project.provide('migratedTemplate', state);
  project.provide('databaseRunTag', runTag);

  return async () => {
    rmSync(root, { recursive: true, force: true });
    if (adminUrl) await dropRunDatabases(adminUrl, runTag);
    await template?.drop();
  };
}
