#!/usr/bin/env node
// Loads the compiled CLI; the TypeScript sources are built into dist/ by `npm run build`.
import('../dist/src/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli/main.js')) {
    process.stderr.write('jkbalancer: dist/ is missing or incomplete; run `npm run build` first.\n');
  } else {
    process.stderr.write(`jkbalancer: ${err && err.stack ? err.stack : err}\n`);
  }
  process.exitCode = 1;
});
