#!/usr/bin/env node
// Benchmark of the inspector's plot drawing in the webview (headless Chromium, the real page and uPlot): the host
// pushes a channel's decoded values at 10,000 messages/s as it does (at most ten pushes a second, here 1,000 points
// each, alternating directions), and this measures whether the page keeps up: the share of the page's main thread
// busy (Chrome's TaskDuration over the run: wall time, so it grows when other processes take the CPU) and the CPU
// time the thread used (ThreadTime, which does not), the frames drawn and the longest gap between frames, and whether every
// pushed point arrived. Runs with 1 plotted field (2 lines) and with 8 fields (16 lines); the plot holds the newest
// 20,000 points, so after 2 s each draw renders the full window.
//   node test/bench/plot-bench.mjs [--rate 10000] [--seconds 10] [--json]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPage } from '../vscode/harness/inspector-page.mjs';
import { numberOption } from './options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

const args = process.argv.slice(2);
const option = (name, fallback) => numberOption(args, `--${name}`, fallback);
const rate = option('rate', 10_000);
const seconds = option('seconds', 10);
const asJson = args.includes('--json');
const PUSHES_PER_SECOND = 10; // the host's PlotFeed batches at most ten pushes a second

/** Drives the page for `seconds` at `rate` points/s over `fields` fields; returns what the page measured. */
async function measure(page, cdp, fields) {
  const metric = async (name) => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === name)?.value ?? 0;
  const paths = Array.from({ length: fields }, (_, i) => (i === 0 ? 'value' : `field${i}`));
  const taskBefore = await metric('TaskDuration');
  const scriptBefore = await metric('ScriptDuration');
  const cpuBefore = await metric('ThreadTime');
  const started = Date.now();
  const result = await page.evaluate(async ({ rate, seconds, paths, pushesPerSecond }) => {
    const pointsBefore = Number(document.getElementById('plotPane').dataset.points ?? 0);
    const drawsBefore = Number(document.getElementById('plotPane').dataset.draws ?? 0);
    const perPush = Math.round(rate / pushesPerSecond);
    let messageId = 1e9;
    const post = (body) => window.postMessage({ messageId: messageId++, body }, '*');
    const frames = [];
    let drawing = true;
    const onFrame = (t) => { frames.push(t); if (drawing) requestAnimationFrame(onFrame); };
    requestAnimationFrame(onFrame);
    let t = 0;
    let sent = 0;
    const pushes = Math.round(seconds * pushesPerSecond);
    const start = performance.now();
    for (let k = 0; k < pushes; k++) {
      const ts = [];
      const dir = [];
      const values = paths.map(() => []);
      for (let i = 0; i < perPush; i++) {
        t += 1e6 / rate; // microseconds
        ts.push(Math.round(t));
        dir.push(i % 2 ? 'received' : 'sent');
        values.forEach((column, f) => column.push(Math.sin(t / 1e5 + f) * 100 + f));
      }
      post({ type: 'plot', paths, reset: k === 0, columns: { t: ts, dir, values } });
      sent += perPush;
      // Real time: the next push when its tenth of a second has come (setTimeout, so the page draws in between).
      const due = start + ((k + 1) * 1000) / pushesPerSecond;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
    // Let the last push be drawn.
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    drawing = false;
    const elapsed = performance.now() - start;
    const gaps = frames.slice(1).map((f, i) => f - frames[i]).sort((a, b) => a - b);
    const pane = document.getElementById('plotPane');
    return {
      elapsedMs: elapsed,
      pushed: sent,
      received: Number(pane.dataset.points) - pointsBefore,
      draws: Number(pane.dataset.draws) - drawsBefore,
      shown: Number(pane.dataset.shown),
      canvas: !!pane.querySelector('canvas') && !pane.hidden,
      frames: frames.length,
      gapP50: gaps[Math.floor(gaps.length * 0.5)] ?? 0,
      gapP99: gaps[Math.floor(gaps.length * 0.99)] ?? 0,
      gapMax: gaps.at(-1) ?? 0,
    };
  }, { rate, seconds, paths, pushesPerSecond: PUSHES_PER_SECOND });
  const wall = (Date.now() - started) / 1000;
  const busy = (await metric('TaskDuration')) - taskBefore;
  const script = (await metric('ScriptDuration')) - scriptBefore;
  const cpu = (await metric('ThreadTime')) - cpuBefore;
  return { fields, lines: fields * 2, ...result, drawsPerSecond: result.draws / (result.elapsedMs / 1000), busyShare: busy / wall, cpuShare: cpu / wall, scriptShare: script / wall, fps: result.frames / (result.elapsedMs / 1000) };
}

/**
 * The draw itself, in the same page and run: uPlot drawing the full 20,000-point window of `series` lines (every
 * other value empty, as per direction) against drawing what decimate() keeps of it (its cost included). Medians of
 * `rounds` draws each, interleaved.
 */
async function drawCost(page, series, rounds) {
  return page.evaluate(async ({ series, rounds, points }) => {
    const host = document.createElement('div');
    host.style.cssText = 'position:fixed;left:0;top:0;width:1280px;height:300px;z-index:10';
    document.body.appendChild(host);
    let drawn = () => {};
    const u = new uPlot({
      width: 1280, height: 300, scales: { x: { time: true } }, legend: { show: false },
      series: [{}, ...Array.from({ length: series }, () => ({ stroke: '#3794ff', width: 1.5, spanGaps: true, points: { show: false } }))],
      hooks: { draw: [() => drawn()] },
    }, [[], ...Array.from({ length: series }, () => [])], host);
    const xs = [];
    const ys = Array.from({ length: series }, () => []);
    for (let i = 0; i < points; i++) {
      xs.push(i / 10000);
      ys.forEach((y, k) => y.push(i % 2 === k % 2 ? Math.sin(i / 300 + k) * 100 + Math.random() : null));
    }
    const draw = async (data) => {
      const done = new Promise((resolve) => { drawn = resolve; });
      u.setData(data);
      await done;
    };
    const full = [];
    const decimated = [];
    for (let r = 0; r < rounds; r++) {
      let t0 = performance.now();
      await draw([xs, ...ys]);
      full.push(performance.now() - t0);
      t0 = performance.now();
      await draw(InspectorCore.decimate(xs, ys, 1280));
      decimated.push(performance.now() - t0);
    }
    u.destroy();
    host.remove();
    const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
    return { series, points, full: median(full), decimated: median(decimated) };
  }, { series, rounds, points: 20_000 });
}

const cleanups = [];
const t = { after: (fn) => cleanups.push(fn) };
try {
  const { page, errors } = await openPage(t, 'dark', { width: 1280, height: 760 });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const runs = [];
  for (const fields of [1, 8]) runs.push(await measure(page, cdp, fields));
  await page.addScriptTag({ path: join(root, 'node_modules/uplot/dist/uPlot.iife.min.js') });
  const draws = [];
  for (const series of [2, 16]) draws.push(await drawCost(page, series, 15));
  if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
  // Keeping up: every pushed point reached the plot, the plot was redrawn throughout (at least once a second), and
  // the page still drew frames (no gap of a second). The busy share says what it cost.
  const keptUp = runs.every((r) => r.canvas && r.received === r.pushed && r.drawsPerSecond >= 1 && r.gapMax < 1000);
  if (asJson) {
    console.log(JSON.stringify({ rate, seconds, runs, draws, keptUp }, null, 2));
  } else {
    console.log(`plot drawing in the webview (headless Chromium) at ${rate} msgs/s for ${seconds} s, ${PUSHES_PER_SECOND} pushes/s:`);
    console.log('| plotted | lines | points pushed / arrived | shown at end | plot draws/s | main thread busy | its CPU time | script | frames/s | frame gap p50 / p99 / max |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of runs) {
      console.log(`| ${r.fields} field${r.fields === 1 ? '' : 's'} | ${r.lines} | ${r.pushed} / ${r.received} | ${r.shown} | ${r.drawsPerSecond.toFixed(1)} | ${(r.busyShare * 100).toFixed(1)}% | ${(r.cpuShare * 100).toFixed(1)}% | ${(r.scriptShare * 100).toFixed(1)}% | ${r.fps.toFixed(1)} | ${r.gapP50.toFixed(1)} / ${r.gapP99.toFixed(1)} / ${r.gapMax.toFixed(1)} ms |`);
    }
    console.log('\none draw of the full 20,000-point window, the same page and run (medians of 15):');
    console.log('| lines | every point | decimated to the plot\'s width (decimation included) | ratio |');
    console.log('|---|---|---|---|');
    for (const d of draws) console.log(`| ${d.series} | ${d.full.toFixed(1)} ms | ${d.decimated.toFixed(1)} ms | ${(d.full / d.decimated).toFixed(1)}x |`);
    console.log(keptUp ? 'keeps up: every point reached the plot, which redrew throughout, and the page kept drawing frames'
      : 'DOES NOT KEEP UP: points were lost, the plot was not redrawn every second, or the page froze for a second');
  }
} finally {
  for (const fn of cleanups.reverse()) await fn();
}
