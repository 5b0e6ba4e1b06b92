// The decode layer's public surface: C-struct schemas (parse, lay out, decode) and message schemas built on them.
export * from './types';
export { TARGETS, isTargetName } from './targets';
export { parseCSchema, type ParseOptions } from './cparser';
export { preprocess, type IncludeReader } from './preprocess';
export * from './decoder';
export { compileMessageSchema, type MessageSchema, type MessageSpec, type TagSpec } from './messages';
export * from './mapping';
export { withFilesReadAhead, MAX_READ_AHEAD_ROUNDS, type AsyncTextReader } from './readAhead';
export { compileFieldFilter, type FieldPredicate } from './fieldFilter';
export * from './formats';
export { generateLuaDissector, recordKey as dissectorRecordKey, type LuaOptions } from './luaDissector';
export { encodeAs, formFields, type FormField } from './encoder';
