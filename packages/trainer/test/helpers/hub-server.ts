import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: Buffer;
}

/**
 * A hub on 127.0.0.1 that speaks what @huggingface/hub's whoAmI, createRepo and uploadFiles call: whoami-v2,
 * repos/create, preupload (LFS for .onnx and .safetensors), the LFS batch (basic transfer), the LFS PUT and the
 * NDJSON commit. It records every request; `status` forces an answer (e.g. 401) for every API call.
 */
export async function startHub(options: { status?: number; existing?: boolean } = {}) {
  const requests: HubRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    const body = await read(req);
    requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (options.status) return json(options.status, { error: 'Invalid credentials in Authorization header' });
    const url = req.url!;
    if (url === '/api/whoami-v2')
      return json(200, { type: 'user', name: 'tester', auth: { type: 'access_token' } });
    if (url === '/api/repos/create') {
      if (options.existing) return json(409, { error: 'You already created this model repo' });
      const { organization, name } = JSON.parse(body.toString());
      return json(200, { url: `${base}/${organization}/${name}`, id: `${organization}/${name}` });
    }
    if (/^\/api\/models\/[^/]+\/[^/]+\/preupload\/main$/.test(url)) {
      const { files } = JSON.parse(body.toString()) as { files: { path: string }[] };
      const lfs = (p: string) => /\.(onnx|safetensors)$/.test(p);
      return json(200, {
        files: files.map((f) => ({ path: f.path, uploadMode: lfs(f.path) ? 'lfs' : 'regular' })),
      });
    }
    if (/\.git\/info\/lfs\/objects\/batch$/.test(url)) {
      const { objects } = JSON.parse(body.toString()) as { objects: { oid: string; size: number }[] };
      const actions = (oid: string) => ({ upload: { href: `${base}/lfs/${oid}` } });
      return json(200, {
        transfer: 'basic',
        objects: objects.map((o) => ({ ...o, actions: actions(o.oid) })),
      });
    }
    if (req.method === 'PUT' && url.startsWith('/lfs/')) {
      const sha = createHash('sha256').update(body).digest('hex');
      if (sha !== url.slice(5)) return json(400, { error: 'sha256 mismatch' });
      res.writeHead(200).end();
      return;
    }
    if (/^\/api\/models\/[^/]+\/[^/]+\/commit\/main$/.test(url)) {
      return json(200, {
        success: true,
        commitOid: 'c0ffee',
        commitUrl: `${base}/commit/c0ffee`,
        hookOutput: '',
      });
    }
    json(404, { error: `no route ${req.method} ${url}` });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    /** The NDJSON lines of each commit, in order. */
    commits: () =>
      requests
        .filter((r) => /\/commit\/main$/.test(r.url))
        .map((r) =>
          r.body
            .toString()
            .split('\n')
            .map((l) => JSON.parse(l) as { key: string; value: Record<string, unknown> }),
        ),
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

function read(req: IncomingMessage): Promise<Buffer> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => done(Buffer.concat(chunks)));
    req.on('error', fail);
  });
}
