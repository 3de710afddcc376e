// DownloadLink: what createDownloadLink returns.
import type { DownloadLink } from '../../domain/downloads/links';
import { builder } from '../builder';

export const DownloadLinkRef = builder.objectRef<DownloadLink>('DownloadLink').implement({
  description: 'A short-lived link that downloads a recovery point (or part of a directory backup) without other credentials',
  fields: (t) => ({
    url: t.exposeString('url', { description: 'Relative to the API server, e.g. /downloads/eyJ…: GET it within the expiry' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});
