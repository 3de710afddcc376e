// One plain HTTP route: matched by method and path (routes.ts keeps the table).
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Route {
  /** Absent: any method (health and metrics answer whatever is asked). */
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** An exact path, or a pattern for paths with parameters (matched without the query string). */
  path: string | RegExp;
  handle(req: IncomingMessage, res: ServerResponse, match: RegExpMatchArray | null): Promise<void> | void;
}
