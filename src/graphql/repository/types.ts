// The file catalog types of chunked recovery points: one BackupFile per snapshot entry, and the
// change summary (files new / changed / unchanged, bytes added) a chunked run records.
import { builder } from '../builder';

export const BackupFileRef = builder.prismaObject('BackupFile', {
  description: 'One entry of a chunked recovery point (the file catalog)',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Relative to the source root' }),
    name: t.string({ resolve: (f) => f.path.slice(f.path.lastIndexOf('/') + 1) }),
    type: t.exposeString('type', { description: 'file, dir or symlink' }),
    size: t.expose('size', { type: 'BigInt' }),
    mode: t.exposeInt('mode', { description: 'Permission bits' }),
    mtime: t.expose('mtime', { type: 'DateTime' }),
    uid: t.exposeInt('uid'),
    gid: t.exposeInt('gid'),
    target: t.exposeString('target', { nullable: true, description: 'A symlink’s target' }),
    chunks: t.exposeInt('chunks'),
    recoveryPoint: t.relation('recoveryPoint'),
  }),
});

export interface ChangeSummary {
  filesNew: number;
  filesChanged: number;
  filesUnchanged: number;
  bytesRead: number;
  bytesAdded: number;
  chunksNew: number;
  chunksReused: number;
  packs: number;
}

export const ChangeSummaryRef = builder.objectRef<ChangeSummary>('ChunkedChangeSummary').implement({
  description: 'What a chunked backup run read and added compared with its parent snapshot',
  fields: (t) => ({
    filesNew: t.exposeInt('filesNew'),
    filesChanged: t.exposeInt('filesChanged'),
    filesUnchanged: t.exposeInt('filesUnchanged', { description: 'Size, mtime and inode matched the parent: not read again' }),
    bytesRead: t.field({ type: 'BigInt', resolve: (s) => BigInt(s.bytesRead) }),
    bytesAdded: t.field({ type: 'BigInt', resolve: (s) => BigInt(s.bytesAdded), description: 'New pack bytes stored at each destination' }),
    chunksNew: t.exposeInt('chunksNew'),
    chunksReused: t.exposeInt('chunksReused'),
    packs: t.exposeInt('packs'),
  }),
});
