import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { passwordSchema, usernameSchema } from './routers/auth/schemas.js';

/**
 * The server is configured by environment variables only (contract §11).
 * Every variable is validated up front so a bad deployment fails at startup with
 * one line per offending variable instead of misbehaving later.
 */

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const integerIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

/** An IPv4/IPv6 address, optionally with a /prefix: what Express's `trust proxy` list accepts. */
function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  if (rest.length > 0) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Secrets that are published in this repository (the compose file's fallback):
 * accepted for local use, refused in production, where anyone could forge tokens with them.
 */
export const PUBLIC_PLACEHOLDER_SECRETS: ReadonlySet<string> = new Set(['placeholder-secret-replace-me-it-is-public-in-git']);

const booleanFlag = z.enum(['true', 'false'], 'must be "true" or "false"').transform((v) => v === 'true');

const envSchema = z.object({
  NODE_ENV: z.string().optional(),
  PORT: integerIn(0, 65_535).default(3000),
  CORS_ORIGINS: z
    .string()
    .min(1, 'must not be empty')
    .default('*')
    .transform((v) => (v.trim() === '*' ? '*' : v.split(',').map((o) => o.trim())))
    .refine((v) => v === '*' || v.every((o) => /^https?:\/\/[^\s/]+$/.test(o)), {
      message: 'must be "*" or a comma-separated list of origins such as https://shop.example.com',
    }),
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v, ctx): TrustProxy => {
      const value = v.trim();
      if (value === 'false') return false;
      if (value === 'true') return 1;
      if (/^\d+$/.test(value)) {
        const hops = Number(value);
        if (hops >= 1 && hops <= 10) return hops;
        if (hops === 0) return false;
      }
      const entries = value.split(',').map((entry) => entry.trim());
      if (entries.length > 0 && entries.every(isAddressOrCidr)) return entries;
      ctx.addIssue({ code: 'custom', message: 'must be "false", "true", a number of proxy hops (1-10) or a comma-separated list of proxy addresses/CIDRs' });
      return z.NEVER;
    }),
  DATABASE_POOL_MODE: z.enum(['session', 'transaction'], 'must be "session" or "transaction"').default('session'),
  METRICS_PORT: integerIn(1, 65_535).optional(),
  LOGIN_ADDRESS_RATE_LIMIT: integerIn(0, 1_000_000).default(100),
  SIGNUP_RATE_LIMIT: integerIn(0, 1_000_000).default(20),
  BCRYPT_COST: integerIn(4, 15).default(10),
  DATABASE_URL: z
    .string()
    .refine((v) => /^postgres(ql)?:\/\/.+/.test(v), 'must be a postgres:// or postgresql:// URL')
    .optional(),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_EXPIRES_IN: integerIn(60, 604_800).default(3600),
  ADMIN_USERNAME: usernameSchema.optional(),
  ADMIN_PASSWORD: passwordSchema.optional(),
  SEED_DEMO_DATA: booleanFlag.optional(),
  LOGIN_RATE_LIMIT: integerIn(0, 1_000_000).default(10),
  CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
    .default('EUR'),
  LOG_LEVEL: z.enum(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`).default('info'),
});

/**
 * Which reverse proxies to believe about the client address (contract §11): `false` for none,
 * a number of hops counted from the right of X-Forwarded-For, or the proxies' addresses/CIDRs.
 * Passed to Express's `trust proxy` as is; `true` (trust every hop, i.e. the client-written
 * left-most entry) is never produced.
 */
export type TrustProxy = false | number | string[];

export type DatabasePoolMode = 'session' | 'transaction';

export interface AppConfig {
  production: boolean;
  port: number;
  corsOrigins: '*' | string[];
  trustProxy: TrustProxy;
  databasePoolMode: DatabasePoolMode;
  metricsPort: number | undefined;
  bcryptCost: number;
  databaseUrl: string | undefined;
  jwtSecret: string;
  /** True when no JWT_SECRET was given and a per-process one was generated. */
  jwtSecretGenerated: boolean;
  jwtExpiresInSeconds: number;
  admin: { username: string; password: string } | undefined;
  seedDemoData: boolean;
  loginRateLimit: number;
  loginAddressRateLimit: number;
  signupRateLimit: number;
  currency: string;
  logLevel: (typeof LOG_LEVELS)[number];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Parses the environment into an AppConfig, or throws a ConfigError listing one line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = envSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    const reported = new Set<string>();
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0] ?? 'environment');
      // The first problem of a variable is enough to fix it; one line per variable stays readable.
      if (reported.has(variable)) continue;
      reported.add(variable);
      problems.push(`Invalid environment variable ${variable}: ${issue.message}`);
    }
  }
  const vars = parsed.data;
  const production = env.NODE_ENV === 'production';
  if (vars) {
    if (production && !vars.JWT_SECRET) {
      problems.push('Invalid environment variable JWT_SECRET: required when NODE_ENV=production');
    } else if (production && vars.JWT_SECRET && PUBLIC_PLACEHOLDER_SECRETS.has(vars.JWT_SECRET)) {
      problems.push('Invalid environment variable JWT_SECRET: the placeholder from docker-compose.yml is public; set a secret of your own in production');
    }
    if ((vars.ADMIN_USERNAME === undefined) !== (vars.ADMIN_PASSWORD === undefined)) {
      const missing = vars.ADMIN_USERNAME === undefined ? 'ADMIN_USERNAME' : 'ADMIN_PASSWORD';
      problems.push(`Invalid environment variable ${missing}: ADMIN_USERNAME and ADMIN_PASSWORD must be set together`);
    }
  }
  if (problems.length > 0 || !vars) {
    throw new ConfigError(problems);
  }

  return {
    production,
    port: vars.PORT,
    corsOrigins: vars.CORS_ORIGINS,
    trustProxy: vars.TRUST_PROXY,
    databasePoolMode: vars.DATABASE_POOL_MODE,
    metricsPort: vars.METRICS_PORT,
    bcryptCost: vars.BCRYPT_COST,
    databaseUrl: vars.DATABASE_URL,
    jwtSecret: vars.JWT_SECRET ?? randomBytes(48).toString('base64url'),
    jwtSecretGenerated: !vars.JWT_SECRET,
    jwtExpiresInSeconds: vars.JWT_EXPIRES_IN,
    admin:
      vars.ADMIN_USERNAME !== undefined && vars.ADMIN_PASSWORD !== undefined
        ? { username: vars.ADMIN_USERNAME, password: vars.ADMIN_PASSWORD }
        : undefined,
    seedDemoData: vars.SEED_DEMO_DATA ?? !vars.DATABASE_URL,
    loginRateLimit: vars.LOGIN_RATE_LIMIT,
    loginAddressRateLimit: vars.LOGIN_ADDRESS_RATE_LIMIT,
    signupRateLimit: vars.SIGNUP_RATE_LIMIT,
    currency: vars.CURRENCY,
    logLevel: vars.LOG_LEVEL,
  };
}
