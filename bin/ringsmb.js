#!/usr/bin/env node
import('../dist/src/cli/main.js')
  .then((m) => m.main(process.argv.slice(2)))
  .catch((err) => {
    console.error(`ringsmb: ${err && err.message ? err.message : err}`);
    process.exit(1);
  });
