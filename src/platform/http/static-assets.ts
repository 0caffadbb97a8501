import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { NotFoundError } from '../errors.js';

const require = createRequire(import.meta.url);
const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);

type Encoding = 'br' | 'gzip';

/**
 * A file the app serves itself (a browser page's script or stylesheet), held in memory. Its
 * name carries a hash of its content, so a browser may keep it for good: a new version is
 * another name. Compressed once, on first demand, and kept: compressing a 3.5 MB script on
 * every request would hold the event loop for a fifth of a second each time.
 */
export class StaticAsset {
  readonly name: string;
  private readonly encoded = new Map<Encoding, Promise<Buffer>>();

  constructor(
    fileName: string,
    readonly type: string,
    readonly body: Buffer,
  ) {
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
    const ext = path.extname(fileName);
    this.name = `${path.basename(fileName, ext)}.${hash}${ext}`;
  }

  encodedAs(encoding: Encoding): Promise<Buffer> {
    let done = this.encoded.get(encoding);
    if (!done) {
      done =
        encoding === 'br'
          ? brotli(this.body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9 } })
          : gzipped(this.body, { level: 9 });
      this.encoded.set(encoding, done);
    }
    return done;
  }
}

/** Files read from installed packages, once per process however many apps are built. */
const files = new Map<string, Buffer>();

/**
 * A file of an installed package, e.g. `react/umd/react.production.min.js`. Found from the
 * package's package.json: a package's `exports` map may hide the file from require.resolve
 * (React's UMD builds are not exported), but not its package.json.
 */
export function packageAsset(specifier: string, type: string): StaticAsset {
  let body = files.get(specifier);
  if (!body) {
    const parts = specifier.split('/');
    const nameLength = specifier.startsWith('@') ? 2 : 1;
    const pkg = parts.slice(0, nameLength).join('/');
    const root = path.dirname(require.resolve(`${pkg}/package.json`));
    body = readFileSync(path.join(root, ...parts.slice(nameLength)));
    files.set(specifier, body);
  }
  return new StaticAsset(path.basename(specifier), type, body);
}

/** A file whose content is written in the project (a page's own small script). */
export function textAsset(fileName: string, type: string, text: string): StaticAsset {
  return new StaticAsset(fileName, type, Buffer.from(text, 'utf8'));
}

/** The best encoding the client accepts among those kept; q=0 means "not this one". */
function encodingFor(request: FastifyRequest): Encoding | undefined {
  const header = request.headers['accept-encoding'] ?? '';
  const accepted = new Set(
    header
      .split(',')
      .map((part) => part.trim().split(';'))
      .filter(([, q]) => !q || !/^\s*q=0(\.0*)?\s*$/.test(q))
      .map(([name]) => name!.trim().toLowerCase()),
  );
  if (accepted.has('br')) return 'br';
  if (accepted.has('gzip') || accepted.has('*')) return 'gzip';
  return undefined;
}

const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;

/** GET `prefix`/:name for each asset (by its hashed name); hidden from the OpenAPI documents. */
export function serveAssets(app: FastifyInstance, prefix: string, assets: StaticAsset[]) {
  const byName = new Map(assets.map((asset) => [asset.name, asset]));
  app.get(
    `${prefix}/:name`,
    {
      schema: {
        hide: true,
        params: Type.Object({ name: Type.String({ maxLength: 200 }) }),
      },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const asset = byName.get(name);
      if (!asset) throw new NotFoundError(`Asset ${name}`);
      const encoding = encodingFor(request);
      void reply
        .type(asset.type)
        .header('cache-control', `public, max-age=${ONE_YEAR_SECONDS}, immutable`)
        .header('vary', 'accept-encoding');
      if (!encoding) return reply.send(asset.body);
      // Already encoded: the compression plugin leaves a response with a Content-Encoding alone.
      return reply.header('content-encoding', encoding).send(await asset.encodedAs(encoding));
    },
  );
}
