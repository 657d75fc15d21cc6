import { randomBytes } from 'node:crypto';
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
  TRUST_PROXY: booleanFlag.default(false),
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

export interface AppConfig {
  production: boolean;
  port: number;
  corsOrigins: '*' | string[];
  trustProxy: boolean;
  bcryptCost: number;
  databaseUrl: string | undefined;
  jwtSecret: string;
  /** True when no JWT_SECRET was given and a per-process one was generated. */
  jwtSecretGenerated: boolean;
  jwtExpiresInSeconds: number;
  admin: { username: string; password: string } | undefined;
  seedDemoData: boolean;
  loginRateLimit: number;
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
    currency: vars.CURRENCY,
    logLevel: vars.LOG_LEVEL,
  };
}
