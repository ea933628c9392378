import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRepo, HubApiError, uploadFiles, whoAmI } from '@huggingface/hub';
import { type HubOptions, hubEndpoint, hubOfflineFromEnv } from '@ortrain/data';
import type { TrainingArguments } from '../trainer/arguments.js';

/** Where to reach the hub (`TrainerOptions.hub`); offline, push_to_hub fails before training. */
export type HubPushOptions = Pick<HubOptions, 'endpoint' | 'offline'>;

export class HubPushError extends Error {
  override name = 'HubPushError';
}

/** One file to upload: its path in the repository and where it is on disk. */
interface Upload {
  path: string;
  content: URL;
}

/**
 * push_to_hub through @huggingface/hub: `open` checks the token and the repository before training starts;
 * `pushCheckpoint` follows hub_strategy at each save; `pushEnd` uploads output_dir with its model card.
 */
export class HubPusher {
  /** The step last pushed: the last step's save is repeated at its epoch's end, one upload is enough. */
  private pushedStep = -1;

  private constructor(
    readonly repo: string,
    private readonly token: string,
    private readonly endpoint: string,
    private readonly args: TrainingArguments,
  ) {}

  /** Resolves the token and repository id, and creates the repository (kept if it exists), or throws clearly. */
  static async open(args: TrainingArguments, options: HubPushOptions = {}): Promise<HubPusher> {
    const token = args.hub_token ?? process.env['HF_TOKEN'];
    if (!token) {
      throw new HubPushError(
        'push_to_hub needs a token with write access: set TrainingArguments.hub_token or the HF_TOKEN environment variable',
      );
    }
    if (options.offline ?? hubOfflineFromEnv()) {
      throw new HubPushError('push_to_hub cannot work offline (HF_HUB_OFFLINE is set)');
    }
    const endpoint = hubEndpoint(options.endpoint);
    const reach = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
      try {
        return await call();
      } catch (e) {
        throw hubError(`push_to_hub: ${what} at ${endpoint}`, e);
      }
    };
    // HF's default repository: the output folder's name, under the token owner's namespace.
    let repo = args.hub_model_id ?? basename(resolve(args.output_dir));
    if (!repo.includes('/')) {
      const user = await reach('checking the token', () => whoAmI({ accessToken: token, hubUrl: endpoint }));
      repo = `${user.name}/${repo}`;
    }
    await reach(`creating ${repo}`, async () => {
      try {
        await createRepo({ repo, accessToken: token, hubUrl: endpoint });
      } catch (e) {
        if (!(e instanceof HubApiError && e.statusCode === 409)) throw e; // it exists: push into it
      }
    });
    return new HubPusher(repo, token, endpoint, args);
  }

  /**
   * HF's _push_from_checkpoint: after `exportModel` has written the current model into output_dir, uploads it
   * (every_save, checkpoint, all_checkpoints), with the checkpoint folder as `last-checkpoint/` (checkpoint) or
   * under its own name (all_checkpoints). Nothing before the end with hub_strategy `end`.
   */
  async pushCheckpoint(
    checkpointDir: string,
    progress: { global_step: number; epoch: number },
    exportModel: () => void,
  ): Promise<void> {
    const strategy = this.args.hub_strategy;
    if (strategy === 'end' || progress.global_step === this.pushedStep) return;
    this.pushedStep = progress.global_step;
    exportModel();
    const files = this.outputFiles();
    if (strategy === 'checkpoint' || strategy === 'all_checkpoints') {
      const prefix = strategy === 'checkpoint' ? 'last-checkpoint' : basename(checkpointDir);
      files.push(...filesUnder(checkpointDir).map((f) => ({ ...f, path: `${prefix}/${f.path}` })));
    }
    const at =
      this.args.save_strategy === 'epoch'
        ? `epoch ${Math.trunc(progress.epoch)}`
        : `step ${progress.global_step}`;
    await this.upload(files, `Training in progress, ${at}`);
  }

  /** HF's push_to_hub at the end: output_dir (model, tokenizer, results, logs) with README.md as the model card. */
  async pushEnd(card: string): Promise<void> {
    const files = this.outputFiles().filter((f) => f.path !== 'README.md');
    const readme = { path: 'README.md', content: new Blob([card]) };
    await this.upload([...files, readme], 'End of training');
  }

  /**
   * output_dir's files without checkpoints and hidden or `_` names (HF's ignore_patterns), nor compiled
   * training graphs (a folder with manifest.json): the model, tokenizer, results and TensorBoard logs.
   */
  private outputFiles(): Upload[] {
    const out = resolve(this.args.output_dir);
    return filesUnder(out).filter((f) => {
      const top = f.path.split('/')[0]!;
      if (/^(checkpoint-\d+|[._].*)$/.test(top)) return false;
      return top === f.path || !existsSync(join(out, top, 'manifest.json'));
    });
  }

  private async upload(
    files: (Upload | { path: string; content: Blob })[],
    commitTitle: string,
  ): Promise<void> {
    try {
      await uploadFiles({
        repo: this.repo,
        accessToken: this.token,
        hubUrl: this.endpoint,
        files,
        commitTitle,
      });
    } catch (e) {
      throw hubError(
        `push_to_hub: uploading to ${this.repo} at ${this.endpoint} failed ("${commitTitle}"); ` +
          `every local output in ${this.args.output_dir} is kept`,
        e,
      );
    }
  }
}

/** Every file under `dir`, with its path relative to it in `/` form. */
function filesUnder(dir: string): Upload[] {
  const files: Upload[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.push({ path: relative(dir, p).split('\\').join('/'), content: pathToFileURL(p) });
    }
  };
  walk(dir);
  return files;
}

function hubError(context: string, e: unknown): HubPushError {
  const cause = e as Error & { statusCode?: number; cause?: { code?: string } };
  const why =
    cause.statusCode === 401
      ? 'the token was rejected (401)'
      : cause.statusCode !== undefined
        ? cause.message
        : `the hub cannot be reached (${cause.cause?.code ?? cause.message})`;
  return new HubPushError(`${context}: ${why}`, { cause: e });
}
