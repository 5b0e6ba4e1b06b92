/** Stable error codes: the names of libsipc's statuses (sipc_status_name) plus LIBRARY_NOT_FOUND. */
export type SipcErrorCode =
  | 'TIMEOUT'
  | 'PEER_GONE'
  | 'BUSY'
  | 'TOO_BIG'
  | 'CANCELLED'
  | 'CLOSED'
  | 'INVALID_NAME'
  | 'INVALID_ARGUMENT'
  | 'BUFFER_TOO_SMALL'
  | 'NOT_FOUND'
  | 'CORRUPT'
  | 'VERSION'
  | 'PERMISSION'
  | 'NO_MEMORY'
  | 'MISMATCH'
  | 'NOT_CONNECTED'
  | 'SYSTEM'
  | 'NOT_A_CHANNEL'
  | 'LIBRARY_NOT_FOUND';

const KNOWN_CODES: ReadonlySet<string> = new Set<SipcErrorCode>([
  'TIMEOUT', 'PEER_GONE', 'BUSY', 'TOO_BIG', 'CANCELLED', 'CLOSED', 'INVALID_NAME', 'INVALID_ARGUMENT',
  'BUFFER_TOO_SMALL', 'NOT_FOUND', 'CORRUPT', 'VERSION', 'PERMISSION', 'NO_MEMORY', 'MISMATCH', 'NOT_CONNECTED',
  'SYSTEM', 'NOT_A_CHANNEL', 'LIBRARY_NOT_FOUND',
]);

export function isSipcErrorCode(code: string): code is SipcErrorCode {
  return KNOWN_CODES.has(code);
}

/** Every failure of the API. `code` is stable; `message` says what was attempted and why it failed. */
export class SipcError extends Error {
  readonly code: SipcErrorCode;
  /** errno (or GetLastError) behind SYSTEM/PERMISSION/NO_MEMORY, when the library reported one. */
  readonly osError: number | undefined;

  constructor(code: SipcErrorCode, message: string, osError?: number) {
    super(message);
    this.name = 'SipcError';
    this.code = code;
    this.osError = osError;
  }
}
