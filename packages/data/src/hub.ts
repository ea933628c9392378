/**
 * Minimal Hugging Face Hub file download with a local cache: each file is fetched once, then read offline.
 * Shared by dataset, tokenizer and (in the trainer) model downloads.
 *
 * Cache layout: `<cacheDir>/<models|datasets>/<owner>--<name>/<revision>/<path in repo>`.
 * `cacheDir` defaults to `$ORTRAIN_CACHE`, else `$XDG_CACHE_HOME/ortrain/hub`, else `~/.cache/ortrain/hub`
 * (a layout of our own, so it is kept apart from the Python `huggingface_hub` cache).
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type RepoType = 'model' | 'dataset';

export interface HubOptions {
  repoType?: RepoType;
  /** Branch, tag or commit. Default `main`. */
  revision?: string;
  cacheDir?: string;
  /** Hub base URL. Default `$HF_ENDPOINT` or `https://huggingface.co`. */
  endpoint?: string;
  /** Never touch the network; default from `HF_HUB_OFFLINE`. */
  offline?: boolean;
  /** Injected for tests; default global fetch. */
  fetch?: typeof fetch;
  /** Per-request timeout. Default 60 s. */
  timeoutMs?: number;
}

/** The file is not on the hub (HTTP 404). */
export class HubNotFoundError extends Error {
  constructor(readonly url: string) {
    super(`not found on the Hugging Face Hub: ${url}`);
    this.name = 'HubNotFoundError';
  }
}

export function defaultCacheDir(): string {
  const env = process.env;
  if (env.ORTRAIN_CACHE) return env.ORTRAIN_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ortrain', 'hub');
}

/** True when `HF_HUB_OFFLINE` is set to 1/true/yes/on. */
export function hubOfflineFromEnv(): boolean {
  return /^(1|true|yes|on)$/i.test(process.env.HF_HUB_OFFLINE ?? '');
}

function checkRepo(repo: string): void {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo) || repo.includes('..')) {
    throw new Error(`invalid Hugging Face repo id "${repo}" (expected "name" or "owner/name")`);
  }
}

/** The hub's base URL without a trailing slash: the given one, else `HF_ENDPOINT`, else huggingface.co. */
export function hubEndpoint(endpoint?: string): string {
  return (endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
}

export function hubFileUrl(repo: string, filename: string, options: HubOptions = {}): string {
  checkRepo(repo);
  const endpoint = hubEndpoint(options.endpoint);
  const prefix = options.repoType === 'dataset' ? 'datasets/' : '';
  const revision = encodeURIComponent(options.revision ?? 'main');
  const path = filename.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${prefix}${repo}/resolve/${revision}/${path}`;
}

/** Where `hubDownload` keeps (or will keep) the file. */
export function hubCachePath(repo: string, filename: string, options: HubOptions = {}): string {
  checkRepo(repo);
  if (filename.split('/').some((p) => p === '..' || p === ''))
    throw new Error(`invalid file path "${filename}"`);
  const kind = options.repoType === 'dataset' ? 'datasets' : 'models';
  const revision = (options.revision ?? 'main').replace(/\//g, '--');
  return join(options.cacheDir ?? defaultCacheDir(), kind, repo.replace('/', '--'), revision, filename);
}

/**
 * Returns the local path of `filename` from `repo`, downloading it into the cache the first time.
 * Writes to a temporary name and renames, so an interrupted download never looks cached.
 * Throws HubNotFoundError on 404, and a clear error when offline with nothing cached.
 */
export async function hubDownload(repo: string, filename: string, options: HubOptions = {}): Promise<string> {
  const path = hubCachePath(repo, filename, options);
  if (existsSync(path)) return path;
  const url = hubFileUrl(repo, filename, options);
  if (options.offline ?? hubOfflineFromEnv()) {
    throw new Error(
      `${repo}/${filename} is not in the cache (${path}) and hub access is offline (HF_HUB_OFFLINE)`,
    );
  }
  const doFetch = options.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
      redirect: 'follow',
    });
  } catch (e) {
    throw new Error(`could not download ${url}: ${(e as Error).message}`, { cause: e });
  }
  if (res.status === 404) throw new HubNotFoundError(url);
  if (!res.ok || !res.body)
    throw new Error(`could not download ${url}: HTTP ${res.status} ${res.statusText}`);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.part-${process.pid}-${Date.now()}`;
  try {
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      createWriteStream(tmp),
    );
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new Error(`could not download ${url}: ${(e as Error).message}`, { cause: e });
  }
  return path;
}

/**
 * Like hubDownload for optional files: resolves to null when the hub has no such file, or when offline
 * and it is not cached (the caller decides whether what it did get is enough).
 */
export async function hubDownloadOptional(
  repo: string,
  filename: string,
  options: HubOptions = {},
): Promise<string | null> {
  if ((options.offline ?? hubOfflineFromEnv()) && !existsSync(hubCachePath(repo, filename, options)))
    return null;
  try {
    return await hubDownload(repo, filename, options);
  } catch (e) {
    if (e instanceof HubNotFoundError) return null;
    throw e;
  }
}
