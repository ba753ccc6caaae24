// The production-shaped local stack: what a citizen meets on AWS, on one local port.
//
//   node e2e/prod-stack.js [--port P] [--site DIR]
//
// - S3: moto (a second S3 implementation), with the site bucket filled by
//   `generator deploy` (so Content-Type and Cache-Control are the deploy's own) and the
//   dossier bucket with the CORS rules of the template.
// - The function: the `submit-fn` binary in its Lambda mode, under cargo-lambda's Lambda
//   Runtime API emulator; `/api/*` reaches it as API Gateway HTTP API payload-2.0 events,
//   bodies base64-encoded as API Gateway does, held to Lambda's 6 MB request limit.
// - The distribution: read from infra/template.yaml itself, so the two cannot drift: the
//   cache behaviours and their path patterns, allowed methods, the viewer-request
//   CloudFront Function (its JavaScript run as written), the response headers policy
//   (CSP and the rest), compression, custom error responses, and the site origin as the
//   template defines it (an S3 website endpoint: index and error documents).
//
// The `${…}` of the template map to the local endpoints. The local stack is plain HTTP,
// so an `https://` to a local endpoint becomes `http://` and `upgrade-insecure-requests`
// is left out of the CSP (it would send the browser to https://127.0.0.1).
//
// Environment: GENERATOR_BIN, SUBMIT_FN_BIN (default target/debug/…), SITE_DIR (the built
// site, default site/; what the build wrote for the function is beside it), PORT.
// Prints "ready http://127.0.0.1:P" and the moto endpoint when everything answers; stops
// everything on SIGTERM or SIGINT.
import http from 'node:http';
import zlib from 'node:zlib';
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const TEMPLATE = path.join(ROOT, 'infra', 'template.yaml');
/** Lambda's limit on a synchronous invocation's request payload (the event JSON). */
export const LAMBDA_REQUEST_LIMIT = 6 * 1024 * 1024;
const SITE_BUCKET = 'motcua-site';
const DOSSIER_BUCKET = 'motcua-dossiers';
const STACK_NAME = 'motcua-local';
const REGION = 'ap-southeast-1';
/** The address API Gateway sees behind CloudFront: an edge server's, not the citizen's. */
const EDGE_IP = '130.176.0.1';
// The local stand-in of the template's ApiOriginSecret (a Secrets Manager reference).
const API_ORIGIN_SECRET = 'prod-stack-origin-secret-0123456789abcdef01234';

// ---------------------------------------------------------------- the template

/** CloudFormation's short-form tags, kept as their long form. */
const CFN_TAGS = ['Ref', 'Sub', 'GetAtt', 'If', 'Equals', 'Not', 'And', 'Or', 'Select', 'Split', 'Join', 'FindInMap', 'ImportValue', 'Base64', 'Condition', 'GetAZs', 'Cidr']
  .flatMap((name) => ['scalar', 'seq', 'map'].map((collection) => ({
    tag: `!${name}`,
    collection: collection === 'scalar' ? undefined : collection,
    resolve: (value) => ({ [name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`]: value?.toJSON ? value.toJSON() : value }),
  })));

export function readTemplate(file = TEMPLATE) {
  return parseYaml(fs.readFileSync(file, 'utf8'), { customTags: CFN_TAGS });
}

/** Resolves the intrinsic functions the distribution uses, against local values. */
function resolver(values) {
  const resolve = (v) => {
    if (Array.isArray(v)) return v.map(resolve);
    if (v === null || typeof v !== 'object') return v;
    if ('Ref' in v) return lookup(v.Ref);
    if ('Fn::GetAtt' in v) {
      const a = v['Fn::GetAtt'];
      return lookup(Array.isArray(a) ? a.join('.') : a);
    }
    if ('Fn::Sub' in v) {
      const [text, vars] = Array.isArray(v['Fn::Sub']) ? v['Fn::Sub'] : [v['Fn::Sub'], {}];
      return text.replace(/\$\{([^}!]+)\}/g, (_, name) => (name in (vars || {}) ? resolve(vars[name]) : lookup(name)));
    }
    if ('Fn::Select' in v) {
      const [i, list] = v['Fn::Select'];
      return resolve(list)[i];
    }
    if ('Fn::Split' in v) {
      const [sep, s] = v['Fn::Split'];
      return String(resolve(s)).split(sep);
    }
    if ('Fn::Join' in v) {
      const [sep, list] = v['Fn::Join'];
      return resolve(list).join(sep);
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
  };
  const lookup = (name) => {
    if (!(name in values)) throw new Error(`infra/template.yaml: \${${name}} has no local value in prod-stack.js`);
    return values[name];
  };
  return resolve;
}

/**
 * The distribution as CloudFront would run it: behaviours, the viewer-request function,
 * the response headers, error responses, and the site origin's kind.
 */
export function distributionFromTemplate(template, local) {
  const r = template.Resources;
  const resolve = resolver(local);
  const config = resolve(r.Distribution.Properties.DistributionConfig);
  const functions = {};
  for (const [name, res] of Object.entries(r)) {
    if (res.Type === 'AWS::CloudFront::Function') {
      // cloudfront-js-2.0 is ECMAScript 5.1 with some of ES6: node runs it as it is.
      functions[name] = new Function(`${res.Properties.FunctionCode}\nreturn handler;`)();
    }
  }
  const policies = {};
  for (const [name, res] of Object.entries(r)) {
    if (res.Type === 'AWS::CloudFront::ResponseHeadersPolicy') {
      policies[name] = responseHeaders(resolve(res.Properties.ResponseHeadersPolicyConfig));
    }
  }
  const behaviour = (b) => ({
    pathPattern: b.PathPattern || '*',
    origin: b.TargetOriginId,
    allowedMethods: b.AllowedMethods || ['GET', 'HEAD'],
    compress: Boolean(b.Compress),
    headers: policies[refName(b.ResponseHeadersPolicyId)] || {},
    viewerRequest: (b.FunctionAssociations || [])
      .filter((f) => f.EventType === 'viewer-request')
      .map((f) => functions[refName(f.FunctionARN)])[0],
  });
  const siteBucket = r.SiteBucket?.Properties?.WebsiteConfiguration;
  return {
    behaviours: [...(config.CacheBehaviors || []).map(behaviour), behaviour(config.DefaultCacheBehavior)],
    defaultRootObject: config.DefaultRootObject,
    errorResponses: config.CustomErrorResponses || [],
    origins: Object.fromEntries(config.Origins.map((o) => [o.Id, {
      kind: o.S3OriginConfig ? 's3-rest' : o.DomainName.endsWith('.s3-website.local') ? 's3-website' : 'api',
      customHeaders: Object.fromEntries((o.OriginCustomHeaders || []).map((h) => [h.HeaderName.toLowerCase(), h.HeaderValue])),
    }])),
    website: siteBucket ? { index: siteBucket.IndexDocument, error: siteBucket.ErrorDocument } : null,
  };
}

/** Which resource an intrinsic (a !Ref or a !GetAtt) of the raw template names. */
function refName(value) {
  // Resolved values are the names themselves (see localValues).
  if (typeof value === 'string' && value.startsWith('local:')) return value.slice(6).split('.')[0];
  return value;
}

function responseHeaders(p) {
  const h = {};
  const s = p.SecurityHeadersConfig || {};
  if (s.ContentSecurityPolicy) {
    h['content-security-policy'] = s.ContentSecurityPolicy.ContentSecurityPolicy
      .replace(/\s+/g, ' ')
      .replace(/https:\/\/127\.0\.0\.1/g, 'http://127.0.0.1')
      .split(';').map((d) => d.trim())
      .filter((d) => d && d !== 'upgrade-insecure-requests')
      .join('; ');
  }
  if (s.StrictTransportSecurity) {
    const t = s.StrictTransportSecurity;
    h['strict-transport-security'] = `max-age=${t.AccessControlMaxAgeSec}${t.IncludeSubdomains ? '; includeSubDomains' : ''}${t.Preload ? '; preload' : ''}`;
  }
  if (s.FrameOptions) h['x-frame-options'] = s.FrameOptions.FrameOption;
  if (s.ContentTypeOptions) h['x-content-type-options'] = 'nosniff';
  if (s.ReferrerPolicy) h['referrer-policy'] = s.ReferrerPolicy.ReferrerPolicy;
  if (s.XSSProtection) h['x-xss-protection'] = s.XSSProtection.Protection ? '1; mode=block' : '0';
  for (const item of p.CustomHeadersConfig?.Items || []) h[item.Header.toLowerCase()] = item.Value;
  return h;
}

/** The values `${…}` and !Ref/!GetAtt take in the local stack. */
function localValues(ports) {
  const moto = `127.0.0.1:${ports.moto}`;
  const values = {
    'AWS::StackName': STACK_NAME,
    'AWS::Region': REGION,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::AccountId': '123456789012',
    'AWS::Partition': 'aws',
    'AWS::NoValue': undefined,
    DomainName: `127.0.0.1:${ports.edge}`,
    'DossierBucket.RegionalDomainName': moto,
    'SiteBucket.RegionalDomainName': moto,
    // As AWS names it (http://bucket.s3-website-region.amazonaws.com); served by moto.
    'SiteBucket.WebsiteURL': `http://${SITE_BUCKET}.s3-website.local`,
    HttpApi: 'local-api',
    PriceClass: 'PriceClass_200',
    CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/local',
  };
  // Resources named by !Ref/!GetAtt in the distribution (policies, functions, OAC…).
  return new Proxy(values, {
    has: () => true,
    get: (t, name) => (name in t ? t[name] : `local:${String(name)}`),
  });
}

// ---------------------------------------------------------------- the edge

function globToRegExp(pattern) {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${pattern.startsWith('/') || pattern === '*' ? '' : '/'}${body}$`);
}

const COMPRESSIBLE = /^(text\/|application\/(json|javascript|xml|atom\+xml|manifest\+json)|image\/svg\+xml)/;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** API Gateway (HTTP API) leaves JSON and text as they are and base64-encodes the rest. */
function isTextBody(contentType) {
  return /^(application\/json|text\/)/i.test(contentType || '');
}

export function edgeServer({ distribution, ports, log, routes }) {
  // What the distribution adds to each request to the function: secret references stand
  // for the local secret.
  const apiOriginHeaders = Object.fromEntries(Object.values(distribution.origins)
    .filter((o) => o.kind === 'api')
    .flatMap((o) => Object.entries(o.customHeaders))
    .map(([k, v]) => [k, typeof v === 'string' && !v.includes('{{resolve:') ? v : API_ORIGIN_SECRET]));
  const behaviours = distribution.behaviours.map((b) => ({ ...b, re: globToRegExp(b.pathPattern) }));
  const behaviourFor = (uri) => behaviours.find((b) => b.pathPattern === '*' || b.re.test(uri)) || behaviours.at(-1);

  async function fromSite(uri, method, headers) {
    // moto does not evaluate bucket policies (the template's Referer condition): an
    // unsigned read is refused as anonymous, so the edge reads as the bucket's owner.
    const owner = { authorization: 'AWS4-HMAC-SHA256 Credential=local/20261201/ap-southeast-1/s3/aws4_request, SignedHeaders=host, Signature=0' };
    const get = (key) => fetch(`http://127.0.0.1:${ports.moto}/${SITE_BUCKET}/${encodeURI(key)}`, { method: method === 'HEAD' ? 'HEAD' : 'GET', headers: { ...headers, ...owner } });
    let key = decodeURIComponent(uri.replace(/^\//, ''));
    const website = distribution.website;
    if (website && (key === '' || key.endsWith('/'))) key += website.index;
    let res = await get(key);
    if (res.status === 404 && website) {
      // The website endpoint: a folder without its slash is sent to it; else the error document.
      if (!key.endsWith(website.index)) {
        const folder = await get(`${key}/${website.index}`);
        if (folder.ok) return { status: 302, headers: { location: `/${key}/` }, body: Buffer.alloc(0) };
      }
      res = await get(website.error);
      return { status: 404, headers: pickHeaders(res), body: Buffer.from(await res.arrayBuffer()) };
    }
    return { status: res.status, headers: pickHeaders(res), body: Buffer.from(await res.arrayBuffer()) };
  }

  async function fromApi(req, uri, query, body) {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) {
      // Managed-AllViewerExceptHostHeader: every viewer header but Host.
      if (k === 'host' || k === 'cookie') continue;
      headers[k] = Array.isArray(v) ? v.join(',') : v;
    }
    headers.host = `local-api.execute-api.${REGION}.amazonaws.com`;
    // The origin's custom header (the template's ApiOriginSecret, here its local
    // stand-in), which replaces one a viewer sent, and the viewer's address, which the
    // managed policy passes on among CloudFront's own headers.
    for (const [k, v] of Object.entries(apiOriginHeaders)) headers[k] = v;
    headers['cloudfront-viewer-address'] = `${req.socket.remoteAddress.replace(/^::ffff:/, '')}:${req.socket.remotePort}`;
    headers['x-forwarded-for'] = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
    headers['x-forwarded-proto'] = 'https';
    headers.via = '2.0 local.cloudfront.net (CloudFront)';
    const text = isTextBody(req.headers['content-type']);
    const event = {
      version: '2.0',
      routeKey: 'ANY /api/{proxy+}',
      rawPath: uri,
      rawQueryString: query,
      cookies: req.headers.cookie ? req.headers.cookie.split(/;\s*/) : undefined,
      headers,
      queryStringParameters: query ? Object.fromEntries([...new URLSearchParams(query)].reduce((m, [k, v]) => m.set(k, m.has(k) ? `${m.get(k)},${v}` : v), new Map())) : undefined,
      pathParameters: { proxy: uri.replace(/^\/api\//, '') },
      requestContext: {
        accountId: '123456789012',
        apiId: 'local-api',
        domainName: headers.host,
        domainPrefix: 'local-api',
        http: { method: req.method, path: uri, protocol: 'HTTP/1.1', sourceIp: EDGE_IP, userAgent: req.headers['user-agent'] || '' },
        requestId: `local-${process.hrtime.bigint()}`,
        routeKey: 'ANY /api/{proxy+}',
        stage: '$default',
        time: new Date().toUTCString(),
        timeEpoch: Date.now(),
      },
      body: body.length ? (text ? body.toString('utf8') : body.toString('base64')) : undefined,
      isBase64Encoded: body.length > 0 && !text,
    };
    const route = routeFor(routes, req.method, uri);
    if (!route) {
      return { status: 404, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"message":"Not Found"}') };
    }
    event.routeKey = event.requestContext.routeKey = `${route.method} ${route.path}`;
    if (!route.greedy) {
      const names = [...route.path.matchAll(/\{([a-z]+)\}/g)].map((m) => m[1]);
      const values = uri.match(new RegExp('^' + route.path.replace(/\{[a-z]+\}/g, '([^/]+)') + '$')).slice(1);
      event.pathParameters = names.length ? Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(values[i])])) : undefined;
    }
    const payload = Buffer.from(JSON.stringify(event));
    if (payload.length > LAMBDA_REQUEST_LIMIT) {
      // What API Gateway answers when Lambda refuses the invocation as too large.
      log(`api: ${req.method} ${uri}: event of ${payload.length} bytes is over Lambda's 6 MB limit`);
      return { status: 413, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"message":"Request Too Long"}') };
    }
    const invoked = await fetch(`http://127.0.0.1:${ports.runtimes[route.fn]}/2015-03-31/functions/_/invocations`, {
      method: 'POST', body: payload, headers: { 'content-type': 'application/json' },
    });
    const answer = await invoked.json().catch(() => null);
    if (!invoked.ok || !answer || answer.errorType || typeof answer.statusCode !== 'number') {
      log(`api: ${req.method} ${uri}: the function failed: ${JSON.stringify(answer).slice(0, 500)}`);
      return { status: 500, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"message":"Internal Server Error"}') };
    }
    const out = { ...(answer.headers || {}) };
    if (answer.cookies?.length) out['set-cookie'] = answer.cookies;
    const raw = answer.body || '';
    return { status: answer.statusCode, headers: out, body: answer.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8') };
  }

  return http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://edge');
      let request = { method: req.method, uri: url.pathname, querystring: url.search.slice(1), headers: {} };
      let b = behaviourFor(request.uri);
      if (!b.allowedMethods.includes(req.method)) {
        return send(res, { status: 403, headers: { 'content-type': 'text/plain' }, body: Buffer.from('403 ERROR: This distribution is not configured to allow the HTTP request method.') }, b, req);
      }
      if (request.uri === '/' && distribution.defaultRootObject && !b.viewerRequest) request.uri = `/${distribution.defaultRootObject}`;
      if (b.viewerRequest) {
        const out = b.viewerRequest({ request: { ...request, querystring: {}, headers: {}, cookies: {} }, viewer: { ip: req.socket.remoteAddress } });
        if (out && out.statusCode) {
          const headers = Object.fromEntries(Object.entries(out.headers || {}).map(([k, v]) => [k, v.value]));
          return send(res, { status: out.statusCode, headers, body: Buffer.alloc(0) }, b, req);
        }
        request.uri = out.uri;
      }
      const body = await readBody(req);
      const origin = distribution.origins[b.origin];
      let answer = origin.kind === 'api'
        ? await fromApi(req, request.uri, request.querystring, body)
        : await fromSite(request.uri, req.method, origin.customHeaders);
      const custom = distribution.errorResponses.find((e) => Number(e.ErrorCode) === answer.status);
      if (custom && custom.ResponsePagePath) {
        const page = await fromSite(custom.ResponsePagePath, 'GET', distribution.origins[behaviourFor(custom.ResponsePagePath).origin].customHeaders);
        answer = { status: Number(custom.ResponseCode || answer.status), headers: page.headers, body: page.body };
        b = behaviourFor(custom.ResponsePagePath);
      }
      send(res, answer, b, req);
    } catch (e) {
      log(`edge: ${req.method} ${req.url}: ${e.stack || e}`);
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('502 Bad Gateway (local edge)');
    }
  });
}

function pickHeaders(res) {
  const h = {};
  for (const k of ['content-type', 'cache-control', 'etag', 'last-modified', 'content-language', 'content-encoding']) {
    const v = res.headers.get(k);
    if (v) h[k] = v;
  }
  return h;
}

function send(res, answer, behaviour, req) {
  const headers = {};
  for (const [k, v] of Object.entries(answer.headers || {})) headers[k.toLowerCase()] = v;
  let body = answer.body;
  const type = headers['content-type'] || '';
  if (behaviour.compress && !headers['content-encoding'] && COMPRESSIBLE.test(type)
      && body.length >= 1000 && /\bgzip\b/.test(req.headers['accept-encoding'] || '')) {
    body = zlib.gzipSync(body);
    headers['content-encoding'] = 'gzip';
    headers.vary = headers.vary ? `${headers.vary}, Accept-Encoding` : 'Accept-Encoding';
  }
  // The response headers policy: every header with Override, whatever the origin said.
  Object.assign(headers, behaviour.headers);
  headers['content-length'] = String(body.length);
  headers.via = '1.1 local.cloudfront.net (CloudFront)';
  res.writeHead(answer.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

// ---------------------------------------------------------------- the processes

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitFor(check, what, child, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${what} stopped while starting (exit ${child.exitCode})`);
    try { if (await check()) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not answer within ${seconds} s`);
}

/**
 * The HTTP API's routes from the template: each function's HttpApi events, as API
 * Gateway matches them (an exact route before a greedy `{proxy+}` one; `{id}` is one
 * path segment).
 */
export function apiRoutesFromTemplate(template) {
  const routes = [];
  for (const [name, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Serverless::Function') continue;
    for (const e of Object.values(r.Properties.Events || {})) {
      if (e.Type !== 'HttpApi') continue;
      const p = e.Properties.Path;
      const greedy = p.endsWith('{proxy+}');
      const re = new RegExp('^' + p.replace(/\{proxy\+\}$/, '.+').replace(/\{[a-z]+\}/g, '[^/]+') + '$');
      routes.push({ fn: name, method: e.Properties.Method.toUpperCase(), path: p, greedy, re });
    }
  }
  return routes.sort((a, b) => a.greedy - b.greedy);
}

function routeFor(routes, method, uri) {
  return routes.find((r) => (r.method === 'ANY' || r.method === method) && r.re.test(uri));
}

function cargoLambda() {
  const scripts = execFileSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_path("scripts"))']).toString().trim();
  const bin = path.join(scripts, 'cargo-lambda');
  return fs.existsSync(bin) ? bin : 'cargo-lambda';
}

export async function start({ port, logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'motcua-prod.')), log = console.error } = {}) {
  const children = [];
  const logFile = (name) => fs.openSync(path.join(logDir, name), 'w');
  const spawnLogged = (name, cmd, args, env, cwd = ROOT) => {
    const fd = logFile(`${name}.log`);
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
    children.push(child);
    return child;
  };
  const timers = [];
  const stop = async () => {
    for (const t of timers) clearInterval(t);
    for (const c of children.reverse()) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
  };
  try {
    const ports = { moto: await freePort(), edge: port || await freePort(), runtimes: {} };
    const motoUrl = `http://127.0.0.1:${ports.moto}`;
    const aws = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: REGION, AWS_EC2_METADATA_DISABLED: 'true' };

    const moto = spawnLogged('moto', 'python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(ports.moto)]);
    await waitFor(async () => (await fetch(motoUrl)).ok, 'moto', moto);
    for (const bucket of [SITE_BUCKET, DOSSIER_BUCKET]) {
      const r = await fetch(`${motoUrl}/${bucket}`, { method: 'PUT' });
      if (!r.ok) throw new Error(`moto: creating ${bucket}: HTTP ${r.status}`);
    }
    const template = readTemplate();
    const local = localValues(ports);
    await putCors(motoUrl, DOSSIER_BUCKET, resolver(local)(template.Resources.DossierBucket.Properties.CorsConfiguration));

    const generator = process.env.GENERATOR_BIN || path.join(ROOT, 'target/debug/generator');
    const site = process.env.SITE_DIR || path.join(ROOT, 'site');
    execFileSync(generator, ['--out', site, 'deploy', '--bucket', SITE_BUCKET, '--endpoint', motoUrl, '--region', REGION], {
      cwd: ROOT, env: { ...process.env, ...aws }, stdio: ['ignore', fs.openSync(path.join(logDir, 'deploy.log'), 'w'), 'inherit'],
    });

    // Packaged as infra/README.md says: what `generator build` wrote for the function
    // (site.function/ beside the site) next to each bootstrap, the working folder on
    // Lambda (/var/task), where the template's relative paths point.
    const pkg = path.join(logDir, 'task');
    fs.cpSync(`${site}.function`, pkg, { recursive: true });
    // Each HTTP function of the template under its own Runtime API emulator, as each
    // Lambda function has its own instances: the submissions' function and the widgets'.
    const routes = apiRoutesFromTemplate(template);
    const binDir = path.dirname(process.env.SUBMIT_FN_BIN || path.join(ROOT, 'target/debug/submit-fn'));
    const binaries = { SubmitFunction: process.env.SUBMIT_FN_BIN || path.join(binDir, 'submit-fn'), WidgetsFunction: path.join(binDir, 'widgets-fn') };
    const fns = [];
    // Function `name`'s own Runtime API emulator, started; its port.
    const startEmulator = async (name) => {
      const runtimePort = await freePort();
      ports.runtimes[name] = runtimePort;
      const runtime = spawnLogged(`emulator-${name}`, cargoLambda(), ['lambda', 'watch', '--only-lambda-apis', '-A', '127.0.0.1', '-P', String(runtimePort)]);
      await waitFor(() => new Promise((resolve) => {
        const c = net.connect(runtimePort, '127.0.0.1', () => { c.end(); resolve(true); });
        c.on('error', () => resolve(false));
      }), 'cargo lambda watch', runtime);
      return runtimePort;
    };
    // What Lambda and the stack give every function; each adds its own, then the
    // template's variables.
    const lambdaEnv = (name, runtimePort) => ({
      ...aws,
      AWS_LAMBDA_RUNTIME_API: `http://127.0.0.1:${runtimePort}/.rt`,
      AWS_LAMBDA_FUNCTION_NAME: '_',
      AWS_LAMBDA_FUNCTION_VERSION: '1',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(template.Resources[name].Properties.MemorySize || 128),
      MOTCUA_BUCKET: DOSSIER_BUCKET,
      MOTCUA_S3_ENDPOINT: motoUrl,
      MOTCUA_PUBLIC_URL: `http://127.0.0.1:${ports.edge}`,
      MOTCUA_SIGNING_KEY: 'prod-stack-signing-key-0123456789abcdef0123',
      MOTCUA_CAPTCHA_KEY: 'prod-stack-captcha-key-fedcba9876543210fedc',
      RUST_LOG: 'info,aws=warn',
    });
    for (const name of new Set(routes.map((r) => r.fn))) {
      const runtimePort = await startEmulator(name);
      if (!binaries[name]) throw new Error(`no local binary for the template's ${name}`);
      const fnEnv = {
        ...lambdaEnv(name, runtimePort),
        MOTCUA_ORIGIN_SECRET: API_ORIGIN_SECRET,
        ...functionEnvFromTemplate(template, name),
      };
      // Only what the template gives each function (the widgets get no secrets).
      const given = template.Resources[name].Properties.Environment.Variables;
      for (const k of ['MOTCUA_PUBLIC_URL', 'MOTCUA_SIGNING_KEY', 'MOTCUA_CAPTCHA_KEY', 'MOTCUA_ORIGIN_SECRET']) if (!(k in given)) delete fnEnv[k];
      fns.push(spawnLogged(`function-${name}`, binaries[name], [], fnEnv, pkg));
    }
    const fn = fns[0];
    // The functions that only the schedule invokes (the outbox worker: notices, the
    // console index's upkeep, the public statistics page), each under its own emulator
    // too, as on AWS.
    const scheduledOnly = { OutboxWorkerFunction: path.join(binDir, 'outbox-worker') };
    for (const [name, bin] of Object.entries(scheduledOnly)) {
      if (!template.Resources[name]) continue;
      const runtimePort = await startEmulator(name);
      fns.push(spawnLogged(`function-${name}`, bin, [], {
        ...lambdaEnv(name, runtimePort),
        // `!Ref SiteBucket` in the template.
        MOTCUA_SITE_BUCKET: SITE_BUCKET,
        ...functionEnvFromTemplate(template, name),
      }, pkg));
    }

    // EventBridge's schedules, sped up: a started function with a Schedule event in the
    // template (the widgets' FoldSchedule) gets a Scheduled Event every
    // E2E_SCHEDULE_SECONDS (default 2; once a minute on AWS).
    const every = Number(process.env.E2E_SCHEDULE_SECONDS || 2) * 1000;
    for (const [name, r] of Object.entries(template.Resources)) {
      if (!ports.runtimes[name]) continue;
      for (const [rule, e] of Object.entries(r.Properties.Events || {})) {
        if (e.Type !== 'Schedule') continue;
        let busy = false;
        timers.push(setInterval(async () => {
          if (busy) return;
          busy = true;
          const event = {
            version: '0', id: `schedule-${Date.now()}`, 'detail-type': 'Scheduled Event', source: 'aws.events',
            account: '000000000000', time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), region: REGION,
            resources: [`arn:aws:events:${REGION}:000000000000:rule/${rule}`], detail: {},
          };
          try {
            const invoked = await fetch(`http://127.0.0.1:${ports.runtimes[name]}/2015-03-31/functions/_/invocations`, {
              method: 'POST', body: JSON.stringify(event), headers: { 'content-type': 'application/json' },
            });
            const answer = await invoked.json().catch(() => null);
            if (!invoked.ok || !answer || answer.errorType) log(`schedule ${name} ${rule}: ${JSON.stringify(answer).slice(0, 500)}`);
          } catch (err) {
            log(`schedule ${name} ${rule}: ${err.message}`);
          } finally {
            busy = false;
          }
        }, every));
      }
    }

    // A deployed site has had its first minute: the worker's first pass has written the
    // statistics page the home page shows.
    if (ports.runtimes.OutboxWorkerFunction) {
      // Read as the bucket's owner, as the edge does (moto refuses anonymous reads).
      const owner = { authorization: 'AWS4-HMAC-SHA256 Credential=local/20261201/ap-southeast-1/s3/aws4_request, SignedHeaders=host, Signature=0' };
      await waitFor(async () => (await fetch(`${motoUrl}/${SITE_BUCKET}/thong-ke/tom-tat.svg`, { method: 'HEAD', headers: owner })).ok, 'the statistics page from the worker\'s first pass', fns[fns.length - 1], 120);
    }

    const distribution = distributionFromTemplate(template, local);
    const edge = edgeServer({ distribution, ports, log, routes });
    await new Promise((resolve) => edge.listen(ports.edge, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${ports.edge}`;
    await waitFor(async () => (await fetch(`${base}/api/health`)).ok, 'the function behind the edge', fn, 120);
    return {
      base, ports, motoUrl, logDir, bucket: DOSSIER_BUCKET,
      stop: async () => { edge.close(); await stop(); },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A function's environment that the template sets and that holds locally too. */
function functionEnvFromTemplate(template, name = 'SubmitFunction') {
  const vars = template.Resources[name].Properties.Environment.Variables;
  const env = {};
  for (const [k, v] of Object.entries(vars)) {
    // Plain values only: references to parameters and secrets have local stand-ins above.
    if (typeof v === 'string' || typeof v === 'number') env[k] = String(v);
  }
  return env;
}

async function putCors(motoUrl, bucket, cors) {
  const xmlRule = (r) => `<CORSRule>${(r.AllowedOrigins || []).map((o) => `<AllowedOrigin>${o.replace(/^https:\/\/127\.0\.0\.1/, 'http://127.0.0.1')}</AllowedOrigin>`).join('')}${(r.AllowedMethods || []).map((m) => `<AllowedMethod>${m}</AllowedMethod>`).join('')}${(r.AllowedHeaders || []).map((h) => `<AllowedHeader>${h}</AllowedHeader>`).join('')}${(r.ExposedHeaders || []).map((h) => `<ExposeHeader>${h}</ExposeHeader>`).join('')}${r.MaxAge ? `<MaxAgeSeconds>${r.MaxAge}</MaxAgeSeconds>` : ''}</CORSRule>`;
  const xml = `<CORSConfiguration>${cors.CorsRules.map(xmlRule).join('')}</CORSConfiguration>`;
  const r = await fetch(`${motoUrl}/${bucket}?cors`, { method: 'PUT', body: xml });
  if (!r.ok) throw new Error(`moto: CORS on ${bucket}: HTTP ${r.status} ${await r.text()}`);
}

// ---------------------------------------------------------------- as a command

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
  if (arg('--site')) process.env.SITE_DIR = path.resolve(arg('--site'));
  const stack = await start({ port: Number(arg('--port') || process.env.PORT) || undefined });
  console.log(`ready ${stack.base}`);
  console.log(`moto ${stack.motoUrl} bucket ${stack.bucket}`);
  console.log(`logs ${stack.logDir}`);
  const quit = async () => { await stack.stop(); process.exit(0); };
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
}
