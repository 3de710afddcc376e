// A destination in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...). Uploads stream through
// lib-storage's multipart Upload, which buffers at most queueSize × partSize bytes, so memory is
// flat whatever the artifact size. A failed or aborted upload leaves no object and no dangling
// multipart upload behind.
import {
  AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command,
  S3Client, type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import http from 'node:http';
import https from 'node:https';
import { PassThrough, Readable } from 'node:stream';
import { reasonForFailure } from '../cancellation';
import { BackupError, CancelledError, DestinationError } from '../errors';
import { outboundPolicy } from '../outbound';
import { keySegments, validatePrefix } from './object-key';
import { probeDestination } from './probe';
import type { Destination, ObjectInfo, ProbeResult, PutOptions, PutResult } from './types';

export interface S3DestinationOptions {
  bucket: string;
  region?: string;
  /** For S3-compatible services; unset means AWS. */
  endpoint?: string;
  /** Every key is stored under this prefix ("backups/acme" or "backups/acme/"). */
  prefix?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Multipart part size; S3 requires ≥ 5 MiB for every part but the last. Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded in parallel (each one buffered in memory). Default 2. */
  queueSize?: number;
  /** Use an existing client (tests, shared connection pools); the other connection options are then ignored. */
  client?: S3Client;
}

const MIB = 1024 * 1024;

export class S3Destination implements Destination {
  readonly kind = 'S3' as const;
  readonly client: S3Client;
  readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(opts: S3DestinationOptions) {
    this.bucket = opts.bucket;
    const trimmed = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (trimmed) keySegments(trimmed);
    this.prefix = trimmed ? `${trimmed}/` : '';
    this.partSize = opts.partSize ?? 8 * MIB;
    this.queueSize = opts.queueSize ?? 2;
    this.client = opts.client ?? new S3Client(clientConfig(opts));
    guardOutbound(this.client);
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const Key = this.objectKey(key);
    const signal = opts.signal;
    // Our own stream between the caller's and the SDK: destroying it on abort makes the Upload's
    // reader fail, and lib-storage then aborts the multipart upload before done() settles.
    // (Upload.abort() would make done() reject at once while parts are still in flight.)
    let bytes = 0;
    const feed = new PassThrough();
    body.on('error', (err) => feed.destroy(err));
    body.on('data', (chunk: Buffer) => (bytes += chunk.length));
    body.pipe(feed);
    const onAbort = () => feed.destroy(new CancelledError(signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: feed },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    // done() settles only after every in-flight request finished, so once it has rejected
    // nothing can still complete the object behind our back.
    let completed = false;
    try {
      if (signal?.aborted) throw new CancelledError(signal.reason);
      await upload.done();
      completed = true;
      // Aborted just as the upload completed: the caller wants nothing left.
      if (signal?.aborted) throw new CancelledError(signal.reason);
      return { key, bytes };
    } catch (err) {
      body.unpipe(feed);
      feed.destroy();
      // A failed destination closes its input, so a fan-out stops feeding it.
      body.destroy();
      await this.cleanupFailedUpload(upload, Key, completed);
      throw this.wrap('put', key, reasonForFailure(err, signal));
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async get(key: string, opts: { signal?: AbortSignal } = {}): Promise<Readable> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), {
        abortSignal: opts.signal,
      });
      if (!(res.Body instanceof Readable)) throw new Error('GetObject returned no readable body');
      return res.Body;
    } catch (err) {
      throw this.wrap('get', key, reasonForFailure(err, opts.signal));
    }
  }

  async getRange(key: string, offset: number, length: number, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Range: `bytes=${offset}-${offset + length - 1}` }),
        { abortSignal: opts.signal },
      );
      if (!(res.Body instanceof Readable)) throw new Error('GetObject returned no readable body');
      const parts: Buffer[] = [];
      for await (const part of res.Body) parts.push(part as Buffer);
      const all = Buffer.concat(parts);
      // A server that ignores Range sends the whole object: cut the range out of it.
      return res.ContentRange || all.length <= length ? all : all.subarray(offset, offset + length);
    } catch (err) {
      throw this.wrap('get', key, reasonForFailure(err, opts.signal));
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { key, size: res.ContentLength ?? 0, modifiedAt: res.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw this.wrap('head', key, err);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== null;
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    } catch (err) {
      if (!isNotFound(err)) throw this.wrap('delete', key, err);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    let ContinuationToken: string | undefined;
    do {
      let res;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken }),
        );
      } catch (err) {
        throw this.wrap('list', prefix, err);
      }
      for (const o of res.Contents ?? []) {
        if (!o.Key) continue;
        yield { key: o.Key.slice(this.prefix.length), size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) };
      }
      ContinuationToken = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  probe(): Promise<ProbeResult> {
    return probeDestination(this);
  }

  private objectKey(key: string): string {
    keySegments(key);
    return this.prefix + key;
  }

  private async cleanupFailedUpload(upload: Upload, Key: string, completed: boolean): Promise<void> {
    // lib-storage aborts its multipart upload when a part or the body fails; repeat it in case
    // that abort itself failed (NoSuchUpload is fine). Keys are write-once, so the object is
    // deleted only when this very upload completed it.
    const uploadId = (upload as unknown as { uploadId?: string }).uploadId;
    if (uploadId && !completed) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId }))
        .catch(() => undefined);
    }
    if (completed) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key })).catch(() => undefined);
  }

  private wrap(operation: string, key: string, err: unknown): Error {
    return err instanceof BackupError ? err : new DestinationError(`s3 ${operation}`, key, err);
  }
}

function clientConfig(opts: S3DestinationOptions): S3ClientConfig {
  const lookup = outboundPolicy().lookup;
  return {
    // Host names resolve through the outbound policy, so the connection goes only to a checked address.
    requestHandler: { httpAgent: new http.Agent({ keepAlive: true, lookup }), httpsAgent: new https.Agent({ keepAlive: true, lookup }) },
    region: opts.region ?? 'us-east-1',
    endpoint: opts.endpoint,
    forcePathStyle: opts.forcePathStyle,
    credentials: opts.credentials,
    // S3-compatible servers often reject the SDK's newer default integrity checksums
    // (aws-chunked trailers); our own SHA-256 covers integrity end to end anyway.
    ...(opts.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
  };
}

/**
 * Literal addresses never reach a DNS lookup: every request's host is checked before it is sent
 * (at the build step, so the SDK's retries do not repeat a refusal).
 */
function guardOutbound(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const hostname = (args.request as { hostname?: string } | undefined)?.hostname;
      if (hostname) outboundPolicy().checkLiteral(hostname, 'the S3 endpoint');
      return next(args);
    },
    { step: 'build', name: 'keepsakeOutboundPolicy' },
  );
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
