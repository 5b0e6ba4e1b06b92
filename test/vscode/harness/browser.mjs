// Headless Debian Chromium driven by playwright-core. Never `playwright install`: the machines reach no browser
// download site, and the system Chromium is the one CI has.
import { chromium } from 'playwright-core';
import { chromiumPath, requireChromium, sandboxEnv, applySandbox } from './cache.mjs';

/** Flags that let Chromium run as root on a closed network without reaching out or waiting on anything. */
const chromiumFlags = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * Launches the browser with the sandboxed HOME/XDG/TMPDIR. Playwright kills it when this process exits; the
 * signal handlers are the harness's own (processes.mjs), which exit and so trigger that.
 */
export async function launchBrowser({ timeoutMs = 60_000 } = {}) {
  requireChromium();
  applySandbox(); // playwright puts the browser profile in os.tmpdir()
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: chromiumFlags,
    env: sandboxEnv(),
    timeout: timeoutMs,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
}
