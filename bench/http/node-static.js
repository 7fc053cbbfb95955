// The reference for bench/http/run.sh: Node's own `http` module serving files from a
// folder with keep-alive, the way a hand-written static server does it: stat, then
// stream with fs.createReadStream. No npm packages.
//
//   node bench/http/node-static.js PORT FOLDER
'use strict';

const http = require('http');
const fs = require('fs');
const path = require('path');

const port = Number(process.argv[2] || 8081);
const root = path.resolve(process.argv[3] || '.');
const types = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.bin': 'application/octet-stream' };

const server = http.createServer((req, res) => {
  const name = decodeURIComponent(req.url.split('?')[0]);
  const file = path.join(root, path.normalize(name));
  if (!file.startsWith(root + path.sep)) {
    res.writeHead(400).end();
    return;
  }
  fs.stat(file, (error, info) => {
    if (error || !info.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found\n');
      return;
    }
    res.writeHead(200, {
      'Content-Type': types[path.extname(file)] || 'application/octet-stream',
      'Content-Length': info.size,
      'Last-Modified': info.mtime.toUTCString(),
      'ETag': `"${info.mtimeMs.toString(16)}-${info.size.toString(16)}"`,
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    fs.createReadStream(file).pipe(res);
  });
});
server.keepAliveTimeout = 10000;
server.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}/`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
