// Everything of the inspector that does not need VS Code, in one entry for the unit tests and the benchmark.
export * from './blocks';
export * from './bytes';
export * from './capture';
export * from './decoded';
export * from './filter';
export * from './jsonl';
export * from './messaging';
export * from './model';
export * from './pcapng';
export * from './pcapngReader';
export * from './plot';
export * from './protocol';
export * from './entryRing';
export * from './rowBatch';
export * from './send';
export * from './stats';
export * from './captureFormat';
