import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

/** Contract §11: every variable's default and validation. */

const SECRET = 's'.repeat(32);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

/** Asserts that the environment is rejected with exactly one line, naming the variable. */
function expectRejected(env: Record<string, string>, variable: string) {
  const problems = problemsOf(env);
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(new RegExp(`^Invalid environment variable ${variable}: \\S`));
  expect(problems[0]).not.toContain('\n');
  return problems[0]!;
}

describe('defaults', () => {
  it('runs with nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      production: false,
      port: 3000,
      corsOrigins: '*',
      trustProxy: false,
      databasePoolMode: 'session',
      metricsPort: undefined,
      bcryptCost: 10,
      databaseUrl: undefined,
      jwtSecretGenerated: true,
      jwtExpiresInSeconds: 3600,
      admin: undefined,
      seedDemoData: true,
      loginRateLimit: 10,
      loginAddressRateLimit: 100,
      signupRateLimit: 20,
      currency: 'EUR',
      logLevel: 'info',
    });
  });

  it('generates a fresh random secret of at least 32 characters when JWT_SECRET is unset', () => {
    const first = loadConfig({}).jwtSecret;
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(loadConfig({}).jwtSecret).not.toBe(first);
  });

  it('seeds the demo catalog by default only with the embedded database', () => {
    const url = 'postgres://postgres@127.0.0.1:5432/shop';
    expect(loadConfig({ DATABASE_URL: url }).seedDemoData).toBe(false);
    expect(loadConfig({ DATABASE_URL: url, SEED_DEMO_DATA: 'true' }).seedDemoData).toBe(true);
    expect(loadConfig({ SEED_DEMO_DATA: 'false' }).seedDemoData).toBe(false);
  });
});

describe('accepted values', () => {
  it('parses every variable', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      CORS_ORIGINS: 'https://shop.example.com, http://localhost:5173',
      TRUST_PROXY: 'true',
      BCRYPT_COST: '12',
      DATABASE_URL: 'postgresql://shop:secret@db.internal:5433/shop',
      JWT_SECRET: SECRET,
      JWT_EXPIRES_IN: '900',
      ADMIN_USERNAME: 'root.admin',
      ADMIN_PASSWORD: 'correct horse battery',
      SEED_DEMO_DATA: 'true',
      LOGIN_RATE_LIMIT: '0',
      CURRENCY: 'USD',
      LOG_LEVEL: 'warn',
    });
    expect(config).toEqual({
      production: true,
      port: 8080,
      corsOrigins: ['https://shop.example.com', 'http://localhost:5173'],
      trustProxy: 1,
      databasePoolMode: 'session',
      metricsPort: undefined,
      bcryptCost: 12,
      databaseUrl: 'postgresql://shop:secret@db.internal:5433/shop',
      jwtSecret: SECRET,
      jwtSecretGenerated: false,
      jwtExpiresInSeconds: 900,
      admin: { username: 'root.admin', password: 'correct horse battery' },
      seedDemoData: true,
      loginRateLimit: 0,
      loginAddressRateLimit: 100,
      signupRateLimit: 20,
      currency: 'USD',
      logLevel: 'warn',
    });
  });

  it.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])('accepts LOG_LEVEL=%s', (level) => {
    expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
  });

  it('accepts the bounds of the numeric ranges', () => {
    expect(loadConfig({ JWT_EXPIRES_IN: '60' }).jwtExpiresInSeconds).toBe(60);
    expect(loadConfig({ JWT_EXPIRES_IN: '604800' }).jwtExpiresInSeconds).toBe(604_800);
    expect(loadConfig({ BCRYPT_COST: '4' }).bcryptCost).toBe(4);
    expect(loadConfig({ BCRYPT_COST: '15' }).bcryptCost).toBe(15);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65_535);
  });

  it('accepts TRUST_PROXY=false, CORS_ORIGINS=* and a 72-byte admin password', () => {
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
    const admin = loadConfig({ ADMIN_USERNAME: 'boss', ADMIN_PASSWORD: 'é'.repeat(36) }).admin;
    expect(admin).toEqual({ username: 'boss', password: 'é'.repeat(36) });
  });

  it('reads TRUST_PROXY as hops or proxy addresses, never as "trust every hop"', () => {
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,fd00::/8' }).trustProxy).toEqual(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
  });

  it.each(['', 'yes', '11', '10.0.0.0/33', 'fd00::/129', '10.0.0.1,', 'localhost'])('rejects TRUST_PROXY=%j', (value) => {
    expectRejected({ TRUST_PROXY: value }, 'TRUST_PROXY');
  });

  it('reads the pool mode, metrics port and address budgets', () => {
    expect(loadConfig({ DATABASE_POOL_MODE: 'transaction' }).databasePoolMode).toBe('transaction');
    expect(loadConfig({ METRICS_PORT: '9464' }).metricsPort).toBe(9464);
    expect(loadConfig({ LOGIN_ADDRESS_RATE_LIMIT: '0', SIGNUP_RATE_LIMIT: '5' })).toMatchObject({ loginAddressRateLimit: 0, signupRateLimit: 5 });
    for (const [variable, value] of [['DATABASE_POOL_MODE', 'statement'], ['METRICS_PORT', '0'], ['LOGIN_ADDRESS_RATE_LIMIT', '-1'], ['SIGNUP_RATE_LIMIT', '']] as const) {
      expectRejected({ [variable]: value }, variable);
    }
  });

  it('refuses the public placeholder secret in production only', () => {
    const placeholder = 'placeholder-secret-replace-me-it-is-public-in-git';
    expect(loadConfig({ JWT_SECRET: placeholder }).jwtSecret).toBe(placeholder);
    expectRejected({ NODE_ENV: 'production', JWT_SECRET: placeholder }, 'JWT_SECRET');
  });

  it('keeps JWT_SECRET optional outside production', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).jwtSecretGenerated).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET }).production).toBe(true);
  });
});

describe('rejected values', () => {
  it.each([
    'PORT',
    'CORS_ORIGINS',
    'TRUST_PROXY',
    'BCRYPT_COST',
    'DATABASE_URL',
    'JWT_SECRET',
    'JWT_EXPIRES_IN',
    'ADMIN_USERNAME',
    'ADMIN_PASSWORD',
    'SEED_DEMO_DATA',
    'LOGIN_RATE_LIMIT',
    'LOGIN_ADDRESS_RATE_LIMIT',
    'SIGNUP_RATE_LIMIT',
    'DATABASE_POOL_MODE',
    'METRICS_PORT',
    'CURRENCY',
    'LOG_LEVEL',
  ])('rejects an empty %s', (variable) => {
    expectRejected({ [variable]: '' }, variable);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['JWT_EXPIRES_IN', '59'],
    ['JWT_EXPIRES_IN', '604801'],
    ['JWT_EXPIRES_IN', '1e3'],
    ['JWT_EXPIRES_IN', '3600.0'],
    ['JWT_EXPIRES_IN', '1h'],
    ['JWT_EXPIRES_IN', ' 3600'],
    ['BCRYPT_COST', '3'],
    ['BCRYPT_COST', '16'],
    ['BCRYPT_COST', 'ten'],
    ['LOGIN_RATE_LIMIT', '-1'],
    ['LOGIN_RATE_LIMIT', 'off'],
    ['LOG_LEVEL', 'verbose'],
    ['LOG_LEVEL', 'INFO'],
    ['TRUST_PROXY', 'yes'],
    ['TRUST_PROXY', 'TRUE'],
    ['SEED_DEMO_DATA', 'no'],
    ['CORS_ORIGINS', 'shop.example.com'],
    ['CORS_ORIGINS', 'https://shop.example.com/'],
    ['CORS_ORIGINS', 'https://a.example.com,'],
    ['CORS_ORIGINS', '*,https://a.example.com'],
    ['CORS_ORIGINS', ' , '],
    ['DATABASE_URL', 'mysql://root@localhost/shop'],
    ['DATABASE_URL', 'localhost:5432'],
    ['JWT_SECRET', 's'.repeat(31)],
    ['CURRENCY', 'eur'],
    ['CURRENCY', 'EURO'],
  ])('rejects %s=%j', (variable, value) => {
    expectRejected({ [variable]: value }, variable);
  });

  it('requires JWT_SECRET in production', () => {
    expect(expectRejected({ NODE_ENV: 'production' }, 'JWT_SECRET')).toMatch(/production/);
  });

  it('requires ADMIN_USERNAME and ADMIN_PASSWORD together', () => {
    expectRejected({ ADMIN_USERNAME: 'boss' }, 'ADMIN_PASSWORD');
    expectRejected({ ADMIN_PASSWORD: 'correct horse battery' }, 'ADMIN_USERNAME');
  });

  it.each([
    [{ ADMIN_USERNAME: 'ab', ADMIN_PASSWORD: 'correct horse battery' }, 'ADMIN_USERNAME'],
    [{ ADMIN_USERNAME: 'has space', ADMIN_PASSWORD: 'correct horse battery' }, 'ADMIN_USERNAME'],
    [{ ADMIN_USERNAME: 'x'.repeat(33), ADMIN_PASSWORD: 'correct horse battery' }, 'ADMIN_USERNAME'],
    [{ ADMIN_USERNAME: 'boss', ADMIN_PASSWORD: 'short' }, 'ADMIN_PASSWORD'],
    [{ ADMIN_USERNAME: 'boss', ADMIN_PASSWORD: 'é'.repeat(37) }, 'ADMIN_PASSWORD'],
  ])('applies the signup rules to the admin account: %j', (env, variable) => {
    expectRejected(env, variable);
  });

  it('reports every bad variable, one line each, and never echoes a secret', () => {
    const problems = problemsOf({ PORT: 'x', BCRYPT_COST: '99', JWT_SECRET: 'tooshort-secret-value', LOG_LEVEL: 'loud' });
    expect(problems.map((p) => /^Invalid environment variable (\w+):/.exec(p)?.[1]).sort()).toEqual(['BCRYPT_COST', 'JWT_SECRET', 'LOG_LEVEL', 'PORT']);
    expect(problems.join('\n')).not.toContain('tooshort-secret-value');
  });
});
