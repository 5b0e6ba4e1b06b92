// Debugger-aware peers: which processes this window is debugging, and whether each is paused. A debug adapter
// tracker for every debug type learns a session's debuggee pid from the Debug Adapter Protocol `process` event
// (systemProcessId), else from the attach configuration (`processId`/`pid`), else from the name VS Code's
// JavaScript debugger gives a process's session ("app.js [4242]"). It follows `stopped` (paused), `continued` and
// the client's continue/step requests (running: adapters need not send `continued` after them), and forgets the
// session when it ends. The channels view and the inspector then say "paused in debugger" rather than let a
// silent peer look dead.
import * as vscode from 'vscode';

export interface Debuggee {
  readonly pid: number;
  readonly paused: boolean;
  /** The debug session's name, for messages. */
  readonly session: string;
}

/** Requests after which the debuggee runs again (DAP: no `continued` event is due for them). */
const RESUMING_REQUESTS = new Set(['continue', 'next', 'stepIn', 'stepOut', 'stepBack', 'reverseContinue', 'goto', 'restartFrame']);

interface DapMessage {
  readonly type?: unknown;
  readonly event?: unknown;
  readonly command?: unknown;
  readonly body?: unknown;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

function validPid(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** The pid a session's configuration names: an attach's processId/pid (numbers or numeric strings). */
export function pidFromConfiguration(configuration: Record<string, unknown>, sessionName: string): number | undefined {
  for (const key of ['processId', 'pid']) {
    const value = configuration[key];
    const pid = validPid(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);
    if (pid) return pid;
  }
  // VS Code's JavaScript debugger names the session of each process it debugs "<script> [<pid>]".
  const named = /\[(\d+)\]\s*$/.exec(sessionName);
  return named ? validPid(Number(named[1])) : undefined;
}

export class Debuggees implements vscode.Disposable {
  private readonly bySession = new Map<string, Debuggee>();
  private readonly changeEmitter = new vscode.EventEmitter<Debuggee>();
  /** A debuggee appeared, paused, ran again or went away (then `paused` is false and it is no longer listed). */
  readonly onDidChange = this.changeEmitter.event;
  private readonly registration: vscode.Disposable;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.registration = vscode.debug.registerDebugAdapterTrackerFactory('*', {
      createDebugAdapterTracker: (session) => this.track(session),
    });
  }

  /** The debuggee of that pid, if this window debugs it. */
  get(pid: number): Debuggee | undefined {
    for (const debuggee of this.bySession.values()) if (debuggee.pid === pid) return debuggee;
    return undefined;
  }

  get all(): readonly Debuggee[] {
    return [...this.bySession.values()];
  }

  dispose(): void {
    this.registration.dispose();
    this.changeEmitter.dispose();
  }

  private track(session: vscode.DebugSession): vscode.DebugAdapterTracker {
    const configured = pidFromConfiguration(session.configuration as Record<string, unknown>, session.name);
    if (configured) this.update(session, { pid: configured, paused: false });
    return {
      onDidSendMessage: (raw: unknown) => {
        const message = raw as DapMessage;
        if (message.type !== 'event') return;
        const body = record(message.body);
        switch (message.event) {
          case 'process': {
            const pid = validPid(body?.systemProcessId);
            if (pid) this.update(session, { pid, paused: false });
            return;
          }
          case 'stopped': return this.update(session, { paused: true });
          case 'continued': return this.update(session, { paused: false });
          case 'exited':
          case 'terminated': return this.forget(session);
        }
      },
      onWillReceiveMessage: (raw: unknown) => {
        const message = raw as DapMessage;
        if (message.type === 'request' && typeof message.command === 'string' && RESUMING_REQUESTS.has(message.command)) {
          this.update(session, { paused: false });
        }
      },
      onExit: () => this.forget(session),
      onError: () => undefined,
    };
  }

  private update(session: vscode.DebugSession, change: { pid?: number; paused: boolean }): void {
    const current = this.bySession.get(session.id);
    const pid = change.pid ?? current?.pid;
    if (pid === undefined) return;
    if (current && current.pid === pid && current.paused === change.paused) return;
    const next: Debuggee = { pid, paused: change.paused, session: session.name };
    this.bySession.set(session.id, next);
    this.log.info(`debugging: pid ${pid} (${session.name}) ${next.paused ? 'paused' : 'running'}`);
    this.changeEmitter.fire(next);
  }

  private forget(session: vscode.DebugSession): void {
    const current = this.bySession.get(session.id);
    if (!current) return;
    this.bySession.delete(session.id);
    this.log.info(`debugging: pid ${current.pid} (${session.name}) no longer debugged`);
    this.changeEmitter.fire({ ...current, paused: false });
  }
}

let active: Debuggees | undefined;

/**
 * The window's debuggee tracker, set once at activation: the inspector's panels read it through describePeer
 * (peerProcess.ts) without every panel being handed it.
 */
export function setActiveDebuggees(debuggees: Debuggees | undefined): void {
  active = debuggees;
}

export function activeDebuggees(): Debuggees | undefined {
  return active;
}
