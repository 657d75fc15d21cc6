import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * Once per test run: a temporary directory where the first spawned-server test file
 * builds the server and every other one reuses the build (tests/support/server-process.ts).
 * Removed when the run ends, so no build output lands in the working tree.
 */
export default function setup(project: TestProject) {
  const root = mkdtempSync(path.join(tmpdir(), 'storefront-build-'));
  project.provide('serverBuildRoot', root);
  return () => rmSync(root, { recursive: true, force: true });
}
