import { readAnswer, type TestServer } from './server.ts';

export interface ConsoleClient {
  cookie: string;
  csrf: string;
  session: any;
  /** A request with the session cookie (and the CSRF token unless `csrf: false`). */
  call(method: string, path: string, options?: { body?: unknown; csrf?: boolean | string; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; json: any; text: string }>;
}

function cookieOf(response: Response): string {
  const header = response.headers.get('set-cookie') ?? '';
  const match = /esimhub_session=([^;]*)/.exec(header);
  if (!match) throw new Error(`no session cookie in ${JSON.stringify(header)}`);
  return `esimhub_session=${match[1]}`;
}

function client(server: TestServer, cookie: string, session: any): ConsoleClient {
  return {
    cookie,
    csrf: session.csrf_token,
    session,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { cookie, ...(options.headers ?? {}) };
      if (options.csrf !== false) headers['x-csrf-token'] = typeof options.csrf === 'string' ? options.csrf : session.csrf_token;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${server.baseUrl}${path}`, { method, headers, body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body) });
      return readAnswer(response);
    },
  };
}

async function post(server: TestServer, path: string, body: unknown): Promise<Response> {
  return fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Signs up a sandbox partner through the console API and returns its logged-in client. */
export async function consoleSignUp(server: TestServer, input: { email: string; password?: string; company?: string; currency?: string }): Promise<ConsoleClient> {
  const response = await post(server, '/console/api/signup', { company: 'Test Travel', password: 'correct horse battery', ...input });
  if (response.status !== 201) throw new Error(`signup answered ${response.status}: ${await response.text()}`);
  return client(server, cookieOf(response), await response.json());
}

/** Logs a console user in and returns its client. */
export async function consoleLogin(server: TestServer, email: string, password: string): Promise<ConsoleClient> {
  const response = await post(server, '/console/api/login', { email, password });
  if (response.status !== 200) throw new Error(`login answered ${response.status}: ${await response.text()}`);
  return client(server, cookieOf(response), await response.json());
}

/** Creates a user directly in the store (an operator, or a user of an existing partner) and logs it in. */
export async function consoleUser(server: TestServer, input: { email: string; role: 'partner' | 'operator'; partnerId?: string; password?: string }): Promise<ConsoleClient> {
  const password = input.password ?? 'correct horse battery';
  await server.ctx.consoleAccounts.createUser({ email: input.email, password, role: input.role, partnerId: input.partnerId ?? null }, server.ctx.now());
  return consoleLogin(server, input.email, password);
}
