// Lists what a Stryker run left per file (survived, no coverage) with the exact code each mutant changes: its source
// line with the mutated span replaced, between ⟦ ⟧, and the test files that ran it. Two mutants can start at the same
// place and differ only in where they end (`a === b && c` as `true`, and `a === b` alone as `true`): a mutant checked by
// hand must be the one shown here, or it may be killed where Stryker's was not (sessions 7 and 8 took one for the other
// and suspected the tap runner).
//   node test/mutation-survivors.mjs test/out/mutation/api.json   the report of a finished run (the json reporter)
//   node test/mutation-survivors.mjs test/out/mutation/events-api a run's event folder (SIPC_MUTATION_EVENTS=events-api),
//                                                                  which also holds what a run stopped early had tested
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const source = process.argv[2];
if (!source) {
  console.error('usage: node test/mutation-survivors.mjs <report.json | event folder>');
  process.exit(2);
}

/** The mutants of a finished report or of an event folder, each with its file name and result so far (status). */
function mutantsOf(path) {
  if (!statSync(path).isDirectory()) {
    const report = JSON.parse(readFileSync(path, 'utf8'));
    return Object.entries(report.files).flatMap(([fileName, file]) => file.mutants.map((mutant) => ({ ...mutant, fileName })));
  }
  let planned = [];
  const tested = new Map();
  for (const name of readdirSync(path).sort()) {
    const event = JSON.parse(readFileSync(join(path, name), 'utf8'));
    if (name.endsWith('-onMutationTestingPlanReady.json')) planned = event.mutantPlans;
    else if (name.endsWith('-onMutantTested.json')) tested.set(event.id, event);
  }
  // A mutant planned for a run that has no result yet was not tested (the run was stopped): status undefined.
  return planned.map(({ plan, mutant }) => tested.get(mutant.id) ?? (plan === 'EarlyResult' ? mutant : { ...mutant, status: undefined }));
}

const byFile = new Map();
for (const mutant of mutantsOf(source)) {
  const fileName = relative(process.cwd(), mutant.fileName);
  byFile.set(fileName, [...(byFile.get(fileName) ?? []), mutant]);
}
for (const [fileName, mutants] of byFile) {
  const count = (status) => mutants.filter((mutant) => mutant.status === status).length;
  const [killed, survived, timeout, noCoverage] = ['Killed', 'Survived', 'Timeout', 'NoCoverage'].map(count);
  const scored = killed + survived + timeout + noCoverage;
  const untested = mutants.filter((mutant) => mutant.status === undefined).length;
  const score = scored === 0 ? 'no score' : `${((100 * (killed + timeout)) / scored).toFixed(1)}%`;
  console.log(`${fileName}: ${mutants.length} mutants${untested ? ` (${untested} not tested yet)` : ''}; killed ${killed}, timeout ${timeout}, ` +
    `survived ${survived}, no coverage ${noCoverage}: ${score}`);
  const lines = readFileSync(fileName, 'utf8').split('\n');
  const left = mutants.filter((mutant) => mutant.status === 'Survived' || mutant.status === 'NoCoverage');
  for (const { id, status, mutatorName, replacement, location: { start, end }, coveredBy = [] } of left.sort((a, b) => a.location.start.line - b.location.start.line)) {
    const line = lines[start.line - 1];
    const changed = start.line === end.line
      ? `${line.slice(0, start.column - 1)}⟦${replacement}⟧${line.slice(end.column - 1)}`
      : `${line.slice(0, start.column - 1)}⟦${replacement.split('\n')[0]} … (to line ${end.line})⟧`;
    const by = status === 'NoCoverage' ? 'no test reached it' : `ran ${coveredBy.map((test) => test.replace(/^.*\//, '')).join(', ')}`;
    console.log(`  ${status === 'Survived' ? 'survived' : 'no coverage'} #${id} ${start.line}:${start.column}-${end.line}:${end.column} ${mutatorName}: ${changed.trim()}  (${by})`);
  }
}
