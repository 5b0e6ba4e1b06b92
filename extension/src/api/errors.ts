import { STATUS_ERROR_NAMES } from './abi';

/**
 * Stable error codes: the names of libsipc's error statuses (sipc_status_name, generated from sipc.h) plus
 * LIBRARY_NOT_FOUND.
 */
export type SipcErrorCode = (typeof STATUS_ERROR_NAMES)[number] | 'LIBRARY_NOT_FOUND';

const KNOWN_CODES: ReadonlySet<string> = new Set<SipcErrorCode>([...STATUS_ERROR_NAMES, 'LIBRARY_NOT_FOUND']);

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
