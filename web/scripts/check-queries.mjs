// Validates every GraphQL operation the console sends against ../schema.graphqls, so a
// query that the API would refuse fails the build instead of a page.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, parse, validate } from 'graphql';

const schema = buildSchema(readFileSync(new URL('../../schema.graphqls', import.meta.url), 'utf8'));

function files(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(f) ? [p] : [];
  });
}

let failed = 0;
let checked = 0;
for (const file of files(new URL('../src', import.meta.url).pathname)) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/`((?:query|mutation) [A-Za-z]+[\s\S]*?)`/g)) {
    if (m[1].includes('${')) continue; // built at run time (charts)
    checked++;
    let errors;
    try {
      errors = validate(schema, parse(m[1]));
    } catch (e) {
      errors = [e];
    }
    for (const e of errors) {
      failed++;
      console.error(`${file}: ${e.message}`);
    }
  }
}
if (failed) process.exit(1);
console.log(`check-queries: ${checked} operations valid against schema.graphqls`);
