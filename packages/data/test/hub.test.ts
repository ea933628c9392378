import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HubNotFoundError,
  hubCachePath,
  hubDownload,
  hubFileUrl,
  loadGlue,
  loadGlueFromHub,
  TextTokenizer,
} from '../src/index.js';

const FIX = join(import.meta.dirname, 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'ortrain-hub-'));
const files = new Map<string, Uint8Array | string>([
  [
    '/datasets/nyu-mll/glue/resolve/main/mrpc/train-00000-of-00001.parquet',
    new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'sentence1', data: ['Left one.', 'Left two.', 'Left three.'], type: 'STRING' },
          { name: 'sentence2', data: ['Right one.', 'Right two.', 'Right three.'], type: 'STRING' },
          { name: 'label', data: [1n, 0n, 1n], type: 'INT64' },
          { name: 'idx', data: [0, 1, 2], type: 'INT32' },
        ],
      }),
    ),
  ],
  ['/acme/tiny-bert/resolve/main/vocab.txt', readFileSync(join(FIX, 'tiny-bert/vocab.txt'), 'utf8')],
]);
const requests: string[] = [];
let server: Server;
let endpoint = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url?.startsWith('/flaky/')) {
      res.writeHead(500).end('boom');
      return;
    }
    const body = files.get(req.url ?? '');
    if (body === undefined) res.writeHead(404).end('not found');
    else res.writeHead(200).end(body);
  });
  server.requestTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

describe('hub download cache (local fake hub)', () => {
  it('builds HF resolve URLs for models and datasets', () => {
    expect(
      hubFileUrl('nyu-mll/glue', 'mrpc/train-00000-of-00001.parquet', {
        repoType: 'dataset',
        endpoint: 'https://hf.co/',
      }),
    ).toBe('https://hf.co/datasets/nyu-mll/glue/resolve/main/mrpc/train-00000-of-00001.parquet');
    expect(
      hubFileUrl('bert-base-uncased', 'vocab.txt', { endpoint: 'https://hf.co', revision: 'refs/pr/1' }),
    ).toBe('https://hf.co/bert-base-uncased/resolve/refs%2Fpr%2F1/vocab.txt');
    expect(() => hubFileUrl('../etc', 'x')).toThrow(/invalid Hugging Face repo id/);
    expect(() => hubCachePath('a/b', '../x', { cacheDir: tmp })).toThrow(/invalid file path/);
  });

  it('downloads a GLUE split once, then reads it offline from the cache', async () => {
    const cacheDir = join(tmp, 'cache1');
    const opts = { cacheDir, endpoint, offline: false };
    const ds = await loadGlueFromHub('mrpc', 'train', opts);
    expect(ds.numRows).toBe(3);
    expect(ds.texts[1]).toEqual(['Right one.', 'Right two.', 'Right three.']);
    expect(ds.labels).toEqual(Int32Array.of(1, 0, 1));
    expect(requests.filter((r) => r.includes('mrpc/train'))).toHaveLength(1);
    const again = await loadGlue('mrpc', 'train', {
      cacheDir,
      endpoint: 'http://127.0.0.1:9',
      offline: true,
    });
    expect(again.labels).toEqual(ds.labels);
    expect(requests.filter((r) => r.includes('mrpc/train'))).toHaveLength(1);
    // Written under a temporary name and renamed: no partial files are left behind.
    expect(readdirSync(cacheDir, { recursive: true }).filter((n) => String(n).includes('.part-'))).toEqual(
      [],
    );
  });

  it('offline with nothing cached is a clear error, as are 404 and HTTP errors', async () => {
    const cacheDir = join(tmp, 'cache2');
    await expect(loadGlueFromHub('sst2', 'train', { cacheDir, endpoint, offline: true })).rejects.toThrow(
      /sst2\/train-00000-of-00001\.parquet is not in the cache .* offline \(HF_HUB_OFFLINE\)/,
    );
    await expect(loadGlueFromHub('sst2', 'train', { cacheDir, endpoint, offline: false })).rejects.toThrow(
      HubNotFoundError,
    );
    await expect(hubDownload('flaky/repo', 'z', { cacheDir, endpoint, offline: false })).rejects.toThrow(
      /HTTP 500/,
    );
    expect(existsSync(join(cacheDir, 'datasets'))).toBe(false);
  });

  it('honours HF_HUB_OFFLINE=1 when no offline option is given', async () => {
    const before = process.env.HF_HUB_OFFLINE;
    process.env.HF_HUB_OFFLINE = '1';
    try {
      await expect(hubDownload('a/b', 'c.txt', { cacheDir: join(tmp, 'cache4'), endpoint })).rejects.toThrow(
        /offline/,
      );
    } finally {
      if (before === undefined) delete process.env.HF_HUB_OFFLINE;
      else process.env.HF_HUB_OFFLINE = before;
    }
    expect(requests.some((r) => r.includes('/a/b/'))).toBe(false);
  });

  it('loads a tokenizer by hub id (vocab.txt-only repo) and reuses the cache offline', async () => {
    const cacheDir = join(tmp, 'cache3');
    const tok = await TextTokenizer.fromPretrained('acme/tiny-bert', { cacheDir, endpoint, offline: false });
    const local = await TextTokenizer.fromPretrained(join(FIX, 'tiny-bert'));
    expect(tok.encode('The plane is taking off.', 'the man')).toEqual(
      local.encode('The plane is taking off.', 'the man'),
    );
    const offline = await TextTokenizer.fromPretrained('acme/tiny-bert', { cacheDir, offline: true });
    expect(offline.vocabSize).toBe(local.vocabSize);
    await expect(
      TextTokenizer.fromPretrained('acme/missing', { cacheDir, endpoint, offline: false }),
    ).rejects.toThrow(/acme\/missing: no tokenizer\.json or vocab\.txt/);
  });
});
