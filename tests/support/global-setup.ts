import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/orm.js';
import { createServerDatabase, serverUrl } from './database.js';

/**
 * Once per test run:
 * - a temporary directory where the first spawned-server test file builds the server and
 *   every other one reuses the build (tests/support/server-process.ts), removed when the
 *   run ends, so no build output lands in the working tree;
 * - on PostgreSQL, one database with every migration applied, which each test file's
 *   database copies (tests/support/database.ts) instead of migrating its own.
 */
export default async function setup(project: TestProject) {
  const root = mkdtempSync(path.join(tmpdir(), 'storefront-build-'));
  project.provide('serverBuildRoot', root);

  let template: Awaited<ReturnType<typeof createServerDatabase>> | undefined;
  if (serverUrl()) {
    template = await createServerDatabase('storefront_template');
    // Closed before any copy: PostgreSQL copies a template only while nobody is connected to it.
    await (await openDatabase({ url: template.url })).close(true);
  }
  project.provide('migratedTemplate', template ? new URL(template.url).pathname.slice(1) : '');

  return async () => {
    rmSync(root, { recursive: true, force: true });
    await template?.drop();
  };
}
