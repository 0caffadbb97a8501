import type { FastifyInstance } from 'fastify';
import { contentSecurityPolicy, PAGE_BASELINE } from '../platform/http/csp.js';
import { htmlDocument } from '../platform/http/html-document.js';
import { escapeHtml } from '../platform/mail/html.js';
import {
  packageAsset,
  serveAssets,
  textAsset,
  type StaticAsset,
} from '../platform/http/static-assets.js';

export const GRAPHIQL_PATH = '/graphiql';
const ASSETS_PATH = `${GRAPHIQL_PATH}/assets`;

/**
 * Starts GraphiQL in the page's #graphiql element, against the endpoint its data-endpoint
 * names. A file of its own, not an inline script: the page's policy runs only the app's files.
 * The headers editor is open, so a request can carry `Authorization: Bearer <token>`; GraphiQL
 * keeps headers out of localStorage unless the user asks (shouldPersistHeaders is off).
 */
const INIT_SCRIPT = `(function () {
  var root = document.getElementById('graphiql');
  var endpoint = root.getAttribute('data-endpoint');
  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: 'headers',
      defaultQuery:
        '# Queries go to ' + endpoint + '. To act as a user, sign in through\\n' +
        '# POST /api/v1/auth/login and put {"Authorization": "Bearer <accessToken>"}\\n' +
        '# in the Headers tab below.\\n\\n{\\n  __typename\\n}\\n',
    }),
  );
})();
`;

interface GraphiqlAssets {
  react: StaticAsset;
  reactDom: StaticAsset;
  graphiql: StaticAsset;
  stylesheet: StaticAsset;
  init: StaticAsset;
}

const JS = 'text/javascript; charset=utf-8';

/** React 18, ReactDOM 18 and GraphiQL's UMD builds from node_modules: no CDN involved. */
function graphiqlAssets(): GraphiqlAssets {
  return {
    react: packageAsset('react/umd/react.production.min.js', JS),
    reactDom: packageAsset('react-dom/umd/react-dom.production.min.js', JS),
    graphiql: packageAsset('graphiql/graphiql.min.js', JS),
    stylesheet: packageAsset('graphiql/graphiql.min.css', 'text/css; charset=utf-8'),
    init: textAsset('graphiql-init.js', JS, INIT_SCRIPT),
  };
}

/**
 * Scripts and styles from this origin only; GraphiQL's editors set inline styles (and React
 * style attributes), its fonts are data: URLs, and it talks to the endpoint on this origin.
 * No inline or eval'd script.
 */
const GRAPHIQL_CSP = contentSecurityPolicy({
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'font-src': ["'self'", 'data:'],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'form-action': ["'none'"],
  ...PAGE_BASELINE,
});

function page(assets: GraphiqlAssets, endpoint: string): string {
  const src = (asset: StaticAsset) => `${ASSETS_PATH}/${asset.name}`;
  return htmlDocument(
    'GraphiQL',
    `<link rel="stylesheet" href="${src(assets.stylesheet)}">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>`,
    `<div id="graphiql" data-endpoint="${escapeHtml(endpoint)}">Loading GraphiQL…</div>
<script src="${src(assets.react)}"></script>
<script src="${src(assets.reactDom)}"></script>
<script src="${src(assets.graphiql)}"></script>
<script src="${src(assets.init)}"></script>`,
  );
}

/**
 * GET /graphiql: GraphiQL served by the app from its own dependencies (the page and its files
 * under /graphiql/assets/), in place of mercurius' page, which loads React and GraphiQL from a
 * CDN. Only with GRAPHQL_GRAPHIQL.
 */
export function registerGraphiql(app: FastifyInstance, endpoint: string) {
  const assets = graphiqlAssets();
  const html = page(assets, endpoint);
  const { react, reactDom, graphiql, stylesheet, init } = assets;
  serveAssets(app, ASSETS_PATH, [react, reactDom, graphiql, stylesheet, init]);
  app.get(GRAPHIQL_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', GRAPHIQL_CSP)
      // The page names its files by content hash: it must be fetched anew to see new ones.
      .header('cache-control', 'no-cache')
      .send(html),
  );
}
