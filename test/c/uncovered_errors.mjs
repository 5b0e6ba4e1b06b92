// Fails the coverage run (helper/Makefile `coverage`) if an error return of the C core's channel.c, segment.c or
// observer.c ran in no test and carries no GCOVR_EXCL mark with its reason (issue #20): every line that names a
// SIPC_ERR_* status or propagates one (`return rc;`) with zero hits. Input: gcovr's --json (per-line counts).
// Usage: node test/c/uncovered_errors.mjs <coverage.json> <helper dir>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [jsonPath, helperDir] = process.argv.slice(2);
const FILES = ['src/channel.c', 'src/segment.c', 'src/observer.c'];
const ERROR_LINE = /\bSIPC_ERR_[A-Z_]+\b|\breturn rc;/;
const report = JSON.parse(readFileSync(jsonPath, 'utf8'));
const missing = [];
for (const name of FILES) {
  const file = report.files.find((f) => f.file === name);
  if (file === undefined) {
    missing.push(`${name}: not in the coverage report`);
    continue;
  }
  const source = readFileSync(join(helperDir, name), 'utf8').split('\n');
  for (const line of file.lines) {
    if (line.count !== 0 || line['gcovr/excluded'] || line['gcovr/noncode']) continue;
    const text = source[line.line_number - 1] ?? '';
    if (ERROR_LINE.test(text)) missing.push(`${name}:${line.line_number}: ${text.trim()}`);
  }
}
if (missing.length > 0) {
  console.error('error returns neither covered by a test nor marked GCOVR_EXCL_LINE with a reason:');
  for (const m of missing) console.error(`  ${m}`);
  process.exit(1);
}
console.log(`every error return of ${FILES.join(', ')} is covered by a test or marked with its reason`);
