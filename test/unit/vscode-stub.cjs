// The few parts of the 'vscode' module that the inspector's host sources use, for unit tests that run the real
// sources (and the real libsipc) outside VS Code: EventEmitter and Disposable.
class EventEmitter {
  constructor() { this.listeners = new Set(); this.event = (listener) => { this.listeners.add(listener); return { dispose: () => this.listeners.delete(listener) }; }; }
  fire(value) { for (const listener of [...this.listeners]) listener(value); }
  dispose() { this.listeners.clear(); }
}
class Disposable {
  constructor(callOnDispose) { this.callOnDispose = callOnDispose; }
  dispose() { this.callOnDispose?.(); }
}
module.exports = { EventEmitter, Disposable };
