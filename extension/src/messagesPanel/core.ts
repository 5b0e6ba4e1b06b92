// The messages panel's pure modules in one entry, for the unit tests (test/unit/messages-panel.test.mjs).
export * from './lines';
export * from './page';
export * from './protocol';
