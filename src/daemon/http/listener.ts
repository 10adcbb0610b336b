/**
 * netmgrd's read-only HTTP listener (netmgrd.conf `http-listen`): GET /metrics, /, /panel, /status.json and the
 * page's two assets; nothing writes. Bounded: a request carries no body, its URL and headers are short, a few
 * dozen connections at once and each one briefly; whatever a client sends becomes an answer (400, 404, 405, 413,
 * 414, 431) or a closed connection, never an exception in netmgrd.
 */
import * as http from 'http';
import type { Socket } from 'net';
import type { Duplex } from 'stream';
import { NetmgrError, messageOf } from '../../util/errors';
import { formatListenAddress, type ListenAddress } from './address';
import { PAGE_CSS, PAGE_JS } from './assets';
import { gatherDot, gatherSnapshot, gatherStatusJson, type SnapshotSources } from './gather';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics';
import { renderPage, renderPanel, type PageView } from './page';
import { RateTracker } from './rates';
import { TopologyRenderer } from './svg';

/** Connections open at once: a Prometheus or two and a few browsers; more are closed as they are accepted. */
export const HTTP_MAX_CONNECTIONS = 32;
/** The request line's target: the longest path served is 12 bytes; 2 KiB leaves room for a query string. */
export const HTTP_MAX_URL_BYTES = 2048;
/** All request headers together (Node's parser answers 431 beyond it). */
export const HTTP_MAX_HEADER_BYTES = 8192;
/** A client gets this long to send its headers, and an idle keep-alive connection is closed after the second. */
const HEADERS_TIMEOUT_MS = 5000;
const KEEP_ALIVE_MS = 5000;

/** Content-Security-Policy of every answer: only this origin; the page has no inline script or style. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'";

type Reply = { status: number; type: string; body: string; headers?: Record<string, string> };
const text = (status: number, body: string, headers?: Record<string, string>): Reply => ({
  status,
  type: 'text/plain; charset=utf-8',
  body: `${body}\n`,
  headers,
});

export class StatusListener {
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly rates = new RateTracker();
  private readonly topology = new TopologyRenderer();

  constructor(
    readonly address: ListenAddress,
    private readonly sources: SnapshotSources,
    private readonly warn: (line: string) => void,
  ) {}

  /** http://ADDRESS:PORT/ */
  get url(): string {
    return `http://${formatListenAddress(this.address)}/`;
  }

  /** Binds the address; throws NetmgrError (kind 'failed', the errno) when it cannot (in use, not an address here). */
  async start(): Promise<void> {
    const server = http.createServer({
      maxHeaderSize: HTTP_MAX_HEADER_BYTES,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: 2 * HEADERS_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_MS,
    });
    server.maxConnections = HTTP_MAX_CONNECTIONS;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('request', (req, res) => void this.answer(req, res));
    server.on('clientError', (e: NodeJS.ErrnoException, socket) => clientError(e, socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new NetmgrError('failed', `cannot listen on ${formatListenAddress(this.address)}: ${e.message}`, e.code),
        ),
      );
      server.listen({ host: this.address.host, port: this.address.port }, resolve);
    });
    server.on('error', (e) => this.warn(`status listener: ${messageOf(e)}`));
    this.server = server;
  }

  /** Stops listening and closes every connection. */
  close(): void {
    this.server?.close();
    for (const s of this.sockets) s.destroy();
    this.server = undefined;
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.route(req);
    } catch (e) {
      this.warn(`status listener: ${req.url ?? ''}: ${messageOf(e)}`);
      reply = text(500, 'netmgrd could not gather its status; see its log');
    }
    const headers = {
      'Content-Type': reply.type,
      'Cache-Control': 'no-store',
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      ...reply.headers,
    };
    // A request that came with a body is answered and the connection closed: the body is not read.
    if (reply.status === 413) res.setHeader('Connection', 'close');
    res.writeHead(reply.status, headers);
    res.end(req.method === 'HEAD' ? undefined : reply.body);
  }

  private async route(req: http.IncomingMessage): Promise<Reply> {
    if ((req.url ?? '').length > HTTP_MAX_URL_BYTES) return text(414, 'URL too long');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return text(405, 'read-only: only GET and HEAD', { Allow: 'GET, HEAD' });
    if (hasBody(req)) return text(413, 'a GET carries no body');
    const path = (req.url ?? '/').split('?')[0];
    switch (path) {
      case '/metrics':
        return { status: 200, type: METRICS_CONTENT_TYPE, body: await renderMetrics(gatherSnapshot(this.sources)) };
      case '/status.json':
        return {
          status: 200,
          type: 'application/json',
          body: JSON.stringify(await gatherStatusJson(this.sources), null, 2) + '\n',
        };
      case '/':
        return { status: 200, type: 'text/html; charset=utf-8', body: renderPage(await this.pageView()) };
      case '/panel':
        return { status: 200, type: 'text/html; charset=utf-8', body: renderPanel(await this.pageView()) };
      case '/page.js':
        return { status: 200, type: 'text/javascript; charset=utf-8', body: PAGE_JS };
      case '/page.css':
        return { status: 200, type: 'text/css; charset=utf-8', body: PAGE_CSS };
      case '/favicon.ico': // browsers ask for it: no icon, and no 404 in their console
        return { status: 204, type: 'image/x-icon', body: '' };
      default:
        return text(404, `no such page: ${path.slice(0, 100)} (try /, /metrics, /status.json)`);
    }
  }

  private async pageView(): Promise<PageView> {
    const snapshot = gatherSnapshot(this.sources);
    const rates = this.rates.update(snapshot.status, Date.parse(snapshot.takenAt));
    let topology: PageView['topology'];
    try {
      topology = await this.topology.render(gatherDot(this.sources, snapshot));
    } catch (e) {
      topology = { error: messageOf(e) };
    }
    return { snapshot, rates, topology };
  }
}

const hasBody = (req: http.IncomingMessage): boolean =>
  Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;

/** What Node's parser refused: headers too large (431), anything else malformed (400); then the connection closes. */
function clientError(e: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || e.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, reason] =
    e.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
}
