// The extensionTestsPath entry point: VS Code's extension host calls run() once the extension under development
// is loaded, and exits with 0 when the returned promise resolves, 1 when it rejects.
//
// Runs mocha over every *.test.js beside this file (or in SIPC_SUITE_DIR), with both the BDD globals
// (describe/it/before/after...) and the TDD ones (suite/test/suiteSetup/setup...). The extension host's console
// reaches the harness unformatted, so results go to a file instead (SIPC_SUITE_RESULTS, default
// test/out/vscode-suite.txt), written test by test so that a crash still leaves what ran; the harness prints it.
// SIPC_SUITE_GREP limits the run to tests whose full title matches.
'use strict';

const fs = require('fs');
const path = require('path');

const repoRoot = path.resolve(__dirname, '../../..');

function loadMocha() {
  // mocha 12's package entry is ESM; its CommonJS build is what require() in the extension host can load.
  try {
    return require('mocha/lib/mocha.cjs');
  } catch {
    return require('mocha');
  }
}

function describeError(error) {
  if (!error) return 'unknown error';
  const message = String(error.message || error);
  const lines = [message.replace(/\n/g, '\n      ')];
  const diffShown = /actual/i.test(message) && /expected/i.test(message);
  if (!diffShown && error.expected !== undefined && error.actual !== undefined && error.showDiff !== false) {
    lines.push(`expected: ${JSON.stringify(error.expected)}`, `actual:   ${JSON.stringify(error.actual)}`);
  }
  if (error.stack) {
    const frames = String(error.stack).split('\n').filter((l) => /^\s+at /.test(l)).slice(0, 6);
    lines.push(...frames.map((l) => l.trim()));
  }
  return lines.join('\n      ');
}

/** A reporter that appends one line per test to a file and ends with the "N passed, N failed" line. */
function fileReporterFor(Mocha, resultsFile) {
  const { EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING, EVENT_RUN_END } = Mocha.Runner.constants;
  return class FileReporter extends Mocha.reporters.Base {
    constructor(runner, options) {
      super(runner, options);
      const write = (text) => fs.appendFileSync(resultsFile, `${text}\n`);
      let passed = 0;
      let failed = 0;
      let skipped = 0;
      runner.on(EVENT_TEST_PASS, (test) => {
        passed++;
        write(`  ok    ${test.fullTitle()} (${test.duration ?? 0} ms)`);
      });
      runner.on(EVENT_TEST_FAIL, (test, error) => {
        failed++;
        write(`  FAIL  ${test.fullTitle()}\n      ${describeError(error)}`);
      });
      runner.on(EVENT_TEST_PENDING, (test) => {
        skipped++;
        write(`  skip  ${test.fullTitle()}`);
      });
      runner.once(EVENT_RUN_END, () => write(`${passed} passed, ${failed} failed, ${skipped} skipped`));
    }
  };
}

function run() {
  const testsDir = path.resolve(process.env.SIPC_SUITE_DIR || __dirname);
  const resultsFile = path.resolve(process.env.SIPC_SUITE_RESULTS || path.join(repoRoot, 'test/out/vscode-suite.txt'));
  fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
  fs.writeFileSync(resultsFile, `extension-host suite: ${testsDir}\n`);

  const Mocha = loadMocha();
  const mocha = new Mocha({
    ui: 'bdd',
    color: false,
    timeout: Number(process.env.SIPC_SUITE_TIMEOUT_MS) || 20_000,
    reporter: fileReporterFor(Mocha, resultsFile),
  });
  Mocha.interfaces.tdd(mocha.suite);
  if (process.env.SIPC_SUITE_GREP) mocha.grep(process.env.SIPC_SUITE_GREP);

  // deactivation.test.js leaves no working extension behind, so it runs last; the others by name.
  const last = (file) => (file === 'deactivation.test.js' ? 1 : 0);
  const files = fs.readdirSync(testsDir).filter((f) => f.endsWith('.test.js')).sort((a, b) => last(a) - last(b) || a.localeCompare(b));
  if (files.length === 0) {
    const message = `no *.test.js files in ${testsDir}`;
    fs.appendFileSync(resultsFile, `${message}\n`);
    return Promise.reject(new Error(message));
  }
  for (const file of files) mocha.addFile(path.join(testsDir, file));

  return new Promise((resolve, reject) => {
    try {
      mocha.run((failures) => {
        if (failures > 0) reject(new Error(`${failures} extension-host test(s) failed`));
        else resolve();
      });
    } catch (error) {
      // A test file that throws while loading never reaches the reporter.
      fs.appendFileSync(resultsFile, `  FAIL  loading the suite\n      ${describeError(error)}\n0 passed, 1 failed\n`);
      reject(error);
    }
  });
}

module.exports = { run };
