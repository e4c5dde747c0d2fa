import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { integerIn, ipAddress } from './cli-errors.js';
import { badOption } from './node-flags.js';
import { NODE_ROLES, type NodeRole, type P2pspNode, type RoleRequest } from './node-runtime.js';
import type { StatusRoute } from './source-view.js';

/** The control API's flags (`p2psp node`). */
export interface CtlOptions {
  ctlToken?: string;
  ctlTokenFile?: string;
}

/** The control API's errors, in its answers and printed by `p2psp ctl`. */
export const CTL_UNAUTHORIZED = 'P2PSP_ERR_CTL_UNAUTHORIZED';
export const CTL_BAD_REQUEST = 'P2PSP_ERR_CTL_BAD_REQUEST';

/** A role-change request body is a few fields: anything longer is not one. */
const MAX_BODY_BYTES = 4096;

/** Checks the control API's flags before the node starts. */
export function checkCtlOptions(options: CtlOptions & { statusPort?: number }): void {
  if (options.ctlToken === undefined && options.ctlTokenFile === undefined) return;
  if (options.statusPort === undefined) {
    throw badOption('the control API is served on the status port: add --status-port PORT');
  }
  if (options.ctlToken !== undefined && options.ctlToken.length < 16) {
    throw badOption(
      '--ctl-token is shorter than 16 characters: anyone who can reach the status port could guess it; give a longer secret, or none to have one made',
    );
  }
}

/**
 * The control API's bearer token: `--ctl-token`, or one made now (24 random bytes) and
 * written to `--ctl-token-file` (mode 0600), or printed when no file is given.
 */
export function startCtl(options: CtlOptions): string {
  if (options.ctlToken !== undefined) return options.ctlToken;
  const token = randomBytes(24).toString('base64url');
  if (options.ctlTokenFile === undefined) {
    process.stdout.write(`ctl-token: ${token}\n`);
    return token;
  }
  try {
    writeFileSync(options.ctlTokenFile, `${token}\n`, { mode: 0o600 });
  } catch (error) {
    throw badOption(
      `--ctl-token-file ${options.ctlTokenFile}: cannot write it (${(error as Error).message}); give a writable path`,
    );
  }
  return token;
}

/** Compares in constant time (hashes first, so the lengths match too). */
function tokenMatches(given: string, token: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response
    .writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...(status === 401 ? { 'www-authenticate': 'Bearer realm="p2psp ctl"' } : {}),
    })
    .end(`${JSON.stringify(body)}\n`);
}

function failure(response: ServerResponse, status: number, code: string, message: string): void {
  answer(response, status, { error: { code, message } });
}

class BadRequest extends Error {}

/** A field of the request, checked by the flag's own parser (as `p2psp ctl` checks it). */
function field<Value>(
  body: Record<string, unknown>,
  name: string,
  parse: (text: string) => Value,
): Value | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  try {
    return parse(String(value));
  } catch (error) {
    throw new BadRequest(
      `${name}: ${(error as Error).message.replace(/\s*\[P2PSP_ERR_\w+\]$/, '')}`,
    );
  }
}

/** The role change a `POST /ctl/role` body asks for, or BadRequest naming what is wrong. */
export function parseRoleRequest(text: string): RoleRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequest('the body is not JSON: send {"role": "liberated+source", "port": 4553}');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequest('the body is not a JSON object: send {"role": "peer"}');
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !['role', 'port', 'address'].includes(key));
  if (unknown.length > 0)
    throw new BadRequest(`unknown field ${unknown.join(', ')}: role, port and address are known`);
  const role = fields.role;
  if (typeof role !== 'string' || !NODE_ROLES.includes(role as NodeRole)) {
    throw new BadRequest(`role: expected one of ${NODE_ROLES.join(', ')}`);
  }
  const port = field(fields, 'port', integerIn(0, 65_535));
  const address = field(fields, 'address', ipAddress);
  return {
    role: role as NodeRole,
    ...(port !== undefined ? { port } : {}),
    ...(address !== undefined ? { address } : {}),
  };
}

function readBody(request: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    request.on('data', (bytes: Buffer) => {
      size += bytes.byteLength;
      if (size > MAX_BODY_BYTES) {
        resolve(null);
        request.destroy();
        return;
      }
      parts.push(bytes);
    });
    request.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    request.on('error', () => resolve(null));
  });
}

/**
 * The control API on the status port, every call with `Authorization: Bearer TOKEN`
 * (401 without it): `GET /ctl` answers the node's status; `POST /ctl/role` with
 * `{"role": ..., "port": ..., "address": ...}` changes its role and answers the new status,
 * or an error `{code, message}` (400 a bad request, 409 a change refused) and nothing changed.
 */
export function ctlRoute(node: P2pspNode, token: string): StatusRoute {
  return (request, response, path) => {
    if (path !== '/ctl' && !path.startsWith('/ctl/')) return false;
    const authorization = request.headers.authorization ?? '';
    const given = /^Bearer (.+)$/i.exec(authorization)?.[1] ?? '';
    if (!tokenMatches(given, token)) {
      failure(
        response,
        401,
        CTL_UNAUTHORIZED,
        given === ''
          ? 'no bearer token: give the token the node printed or wrote (p2psp ctl --token or --token-file)'
          : 'wrong token: give the token the node printed or wrote at start',
      );
      return true;
    }
    if (path === '/ctl' && request.method === 'GET') {
      answer(response, 200, node.status());
      return true;
    }
    if (path !== '/ctl/role') {
      failure(response, 404, CTL_BAD_REQUEST, `no ${path}: try GET /ctl or POST /ctl/role`);
      return true;
    }
    if (request.method !== 'POST') {
      response.setHeader('allow', 'POST');
      failure(response, 405, CTL_BAD_REQUEST, 'POST /ctl/role with a JSON body');
      return true;
    }
    void readBody(request).then(async (text) => {
      if (text === null) {
        failure(response, 413, CTL_BAD_REQUEST, `the body is over ${MAX_BODY_BYTES} bytes`);
        return;
      }
      try {
        await node.transmute(parseRoleRequest(text));
        answer(response, 200, node.status());
      } catch (error) {
        if (error instanceof BadRequest) {
          failure(response, 400, CTL_BAD_REQUEST, error.message);
          return;
        }
        const code = (error as { code?: unknown }).code;
        failure(
          response,
          409,
          typeof code === 'string' ? code : 'P2PSP_ERR_ROLE_CHANGE',
          (error as Error).message,
        );
      }
    });
    return true;
  };
}
